/** A header name: an HTTP token (RFC 9110), at most 100 characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
/** Custom headers per subscription at most. */
export const MAX_CUSTOM_HEADERS = 20;
const MAX_VALUE_LENGTH = 4000;

/**
 * Names a subscription may not set (case-insensitive): hop-by-hop headers (RFC 9110 §7.6.1), the
 * ones the sender owns (body framing, host, content type, user agent) and the Standard Webhooks
 * signature headers, so a receiver's verification can never be confused.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

/**
 * What is wrong with a custom header map, one message per problem, each naming the field. Values
 * are never echoed: they may be credentials.
 */
export function headerProblems(headers: unknown): string[] {
  if (headers === undefined || headers === null) return [];
  if (typeof headers !== 'object' || Array.isArray(headers))
    return ['headers must be an object of header name to string value'];
  const entries = Object.entries(headers as Record<string, unknown>);
  if (entries.length > MAX_CUSTOM_HEADERS) return [`headers may hold at most ${MAX_CUSTOM_HEADERS} entries`];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) problems.push(`headers: "${name.slice(0, 100)}" is not a valid header name`);
    else if (RESERVED_HEADERS.has(lower))
      problems.push(`headers.${name}: a hop-by-hop, sender-owned or signature header cannot be set`);
    else if (seen.has(lower)) problems.push(`headers.${name}: given twice (names are case-insensitive)`);
    else if (typeof value !== 'string' || !/^[\t\x20-\x7e\x80-\xff]*$/.test(value) || value.length > MAX_VALUE_LENGTH)
      problems.push(
        `headers.${name}: the value must be a single-line string of at most ${MAX_VALUE_LENGTH} characters`,
      );
    seen.add(lower);
  }
  return problems;
}

/** Associated data binding a subscription's sealed header map to it. */
export function headersAad(subscriptionId: string): string {
  return `webhook_subscriptions:${subscriptionId}:headers`;
}
