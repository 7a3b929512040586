import { lookup as dnsLookup, type LookupAddress } from 'dns';
import ipaddr from 'ipaddr.js';
import { isIP, type LookupFunction } from 'net';
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher } from 'undici';
import { DomainError, ErrorCode } from '../common/domain-error';

/**
 * The SSRF policy for every URL a user gives us (connection base URLs, webhook URLs). A URL may
 * point only at public unicast addresses unless private targets are allowed (ALLOW_PRIVATE_URLS,
 * default true only in embedded mode). Two checks: a synchronous one on the URL's literal host
 * when the URL is stored (a 400), and one on the resolved addresses of every connection we open
 * (DNS rebinding); the guarded `lookup` hands the socket exactly the addresses it checked, so what
 * is checked is what is connected to. Redirects are re-checked because every hop opens its
 * connection through the same connector.
 */

/** Refused with a message naming the host and why, never a credential of the URL. */
export class UrlNotAllowedError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Invalid, message);
    this.name = 'UrlNotAllowedError';
  }
}

/** The `dns.lookup` shape with `all: true`: every address of a name. */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

export interface UrlPolicyOptions {
  /** true: loopback, private, link-local … targets are allowed (embedded mode's default). */
  allowPrivate: boolean;
  /** Name resolution; tests inject one (e.g. a name that resolves to 127.0.0.1). Default: dns.lookup. */
  resolve?: ResolveAll;
  /** Why an address is refused, or null; default `addressRefusal`. Tests narrow it to reach 127.0.0.1. */
  classify?: (address: string) => string | null;
}

const defaultResolve: ResolveAll = (hostname) =>
  new Promise((resolvePromise, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolvePromise(addresses),
    ),
  );

/** Cloud metadata endpoints, named in the refusal so an operator recognises them. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200']);

/** Names that mean "this machine" whatever the resolver says. */
const LOCAL_NAMES = /(^|\.)(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)\.?$/i;

/**
 * Why an IP address is not a public target, or null when it is. Only `unicast` passes: that
 * excludes loopback, private (RFC 1918), unique-local, link-local (metadata), CGNAT, unspecified,
 * broadcast, multicast, reserved/documentation ranges, and translation prefixes (NAT64, 6to4,
 * Teredo) that can embed a private IPv4. IPv4-mapped and IPv4-compatible IPv6 are judged as IPv4.
 */
export function addressRefusal(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  let parsed = ipaddr.parse(bare);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    else if (v6.parts.slice(0, 6).every((part) => part === 0) && !(v6.parts[6] === 0 && v6.parts[7] <= 1)) {
      // ::a.b.c.d (IPv4-compatible, deprecated): some stacks still route it to the IPv4 address.
      parsed = ipaddr.fromByteArray(v6.toByteArray().slice(12));
    }
  }
  const normalised = parsed.toString();
  if (METADATA_ADDRESSES.has(normalised)) return 'a cloud metadata address';
  const range = parsed.range();
  return range === 'unicast' ? null : `a ${range} address`;
}

/** The policy's refusal behind an error (fetch and the SDKs wrap connection errors in `cause`). */
export function urlRefusalOf(error: unknown): UrlNotAllowedError | null {
  for (let current = error, depth = 0; current && depth < 8; depth += 1) {
    if (current instanceof UrlNotAllowedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export class UrlPolicy {
  readonly allowPrivate: boolean;
  private readonly resolveAll: ResolveAll;
  private readonly classify: (address: string) => string | null;
  private sharedDispatcher: Agent | null = null;

  constructor(options: UrlPolicyOptions) {
    this.allowPrivate = options.allowPrivate;
    this.resolveAll = options.resolve ?? defaultResolve;
    this.classify = options.classify ?? addressRefusal;
  }

  /**
   * The creation-time check: an absolute http(s) URL without credentials whose literal host is
   * allowed. Names are not resolved here (see `checkResolved`). Returns the parsed URL.
   */
  checkUrl(raw: string, field = 'url'): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UrlNotAllowedError(`${field} must be an absolute http(s) URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UrlNotAllowedError(`${field} must use http or https`);
    }
    if (url.username || url.password) {
      throw new UrlNotAllowedError(`${field} must not carry credentials (use a header or api_key)`);
    }
    if (this.allowPrivate) return url;
    const host = hostOf(url);
    // The WHATWG parser already turned 0x7f.1, 2130706433 and friends into dotted IPv4.
    if (isIP(host)) {
      const refusal = this.classify(host);
      if (refusal) throw this.refusal(field, host, refusal);
    } else if (LOCAL_NAMES.test(host)) {
      throw this.refusal(field, host, 'a local name');
    }
    return url;
  }

  /**
   * The call-time check: every address the URL's host resolves to must be allowed (one private
   * address is enough to refuse — an attacker's name may list both). Returns the addresses.
   */
  async checkResolved(raw: string, field = 'url'): Promise<LookupAddress[]> {
    const url = this.checkUrl(raw, field);
    const host = hostOf(url);
    if (isIP(host)) return [{ address: host, family: isIP(host) }];
    return this.resolveChecked(host, field);
  }

  /** A `net`/`tls` lookup that resolves through the policy and fails for a refused address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolveChecked(hostname, 'url').then(
      (addresses) => {
        const family = typeof options === 'object' && options ? options.family : undefined;
        const wanted = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        const usable = wanted.length > 0 ? wanted : addresses;
        if (typeof options === 'object' && options?.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

  /**
   * An undici dispatcher whose every connection (the first request and each redirect hop) goes
   * through the policy: literal IPs are checked here (net skips `lookup` for them), names through
   * the guarded lookup, so the socket connects to exactly the addresses that were checked.
   */
  dispatcher(options: Agent.Options = {}): Dispatcher {
    if (this.allowPrivate) return new Agent(options);
    const connector = buildConnector({ lookup: this.lookup });
    return new Agent({
      ...options,
      connect: (connectOptions, callback) => {
        const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
        const refusal = isIP(host) ? this.classify(host) : LOCAL_NAMES.test(host) ? 'a local name' : null;
        if (refusal) {
          callback(this.refusal('url', host, refusal), null);
          return;
        }
        connector(connectOptions, callback);
      },
    });
  }

  /**
   * `fetch` for user-supplied URLs: the URL is checked, then fetched through the guarded dispatcher
   * (shared, so connections are pooled). Redirects are followed only through the same checks.
   */
  readonly fetch = async (
    input: string | URL,
    init: Parameters<typeof undiciFetch>[1] = {},
  ): ReturnType<typeof undiciFetch> => {
    this.checkUrl(typeof input === 'string' ? input : input.toString());
    this.sharedDispatcher ??= this.dispatcher() as Agent;
    return undiciFetch(input, { ...init, dispatcher: init.dispatcher ?? this.sharedDispatcher });
  };

  /** Closes the shared dispatcher's pooled connections. */
  async close(): Promise<void> {
    const dispatcher = this.sharedDispatcher;
    this.sharedDispatcher = null;
    await dispatcher?.close();
  }

  /** Nest calls this on shutdown when the policy is a provider. */
  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  private async resolveChecked(hostname: string, field: string): Promise<LookupAddress[]> {
    const host = hostname.replace(/^\[|\]$/g, '');
    if (this.allowPrivate) return isIP(host) ? [{ address: host, family: isIP(host) }] : this.resolveAll(host);
    if (LOCAL_NAMES.test(host)) throw this.refusal(field, host, 'a local name');
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await this.resolveAll(host);
    if (addresses.length === 0) throw new UrlNotAllowedError(`${field} host ${host} does not resolve`);
    for (const { address } of addresses) {
      const refusal = this.classify(address);
      if (refusal) throw this.refusal(field, host, `${refusal} (${address})`);
    }
    return addresses;
  }

  private refusal(field: string, host: string, why: string): UrlNotAllowedError {
    return new UrlNotAllowedError(
      `${field} host ${host} is ${why}: private and local targets are refused (set ALLOW_PRIVATE_URLS=true to allow them)`,
    );
  }
}
