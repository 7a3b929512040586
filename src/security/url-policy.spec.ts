import { createServer, type Server } from 'http';
import { type AddressInfo } from 'net';
import { addressRefusal, type ResolveAll, UrlNotAllowedError, UrlPolicy, urlRefusalOf } from './url-policy';

const strict = (resolve?: ResolveAll) => new UrlPolicy({ allowPrivate: false, resolve });
const names =
  (table: Record<string, string[]>): ResolveAll =>
  (hostname) => {
    const addresses = table[hostname];
    if (!addresses)
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.10.10', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'metadata'],
    ['fc00::5', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.100.100.200', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['[::1]', 'loopback'],
  ])('refuses %s (%s)', (address, why) => {
    expect(addressRefusal(address)).toMatch(new RegExp(why));
  });

  it.each(['8.8.8.8', '1.1.1.1', '104.18.7.192', '2606:4700::6810:84e5', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(addressRefusal(address)).toBeNull();
  });
});

describe('UrlPolicy.checkUrl (creation time)', () => {
  it.each([
    'http://127.0.0.1:11434/v1',
    'http://[::1]/v1',
    'http://169.254.169.254/latest/meta-data',
    'http://[fd00:ec2::254]/',
    'http://0x7f.1/',
    'http://2130706433/',
    'http://0/',
    'http://[::ffff:7f00:1]/',
    'http://localhost:8080/',
    'http://api.localhost/',
    'http://10.0.0.8/',
  ])('refuses %s with a 400 naming the variable that allows it', (url) => {
    expect(() => strict().checkUrl(url, 'base_url')).toThrow(UrlNotAllowedError);
    expect(() => strict().checkUrl(url, 'base_url')).toThrow(/base_url host .* ALLOW_PRIVATE_URLS=true/);
  });

  it('refuses non-http schemes, relative URLs and credentials in the URL', () => {
    expect(() => strict().checkUrl('file:///etc/passwd', 'base_url')).toThrow(/http or https/);
    expect(() => strict().checkUrl('/v1', 'base_url')).toThrow(/absolute/);
    expect(() => strict().checkUrl('https://user:pw@api.example.com/', 'base_url')).toThrow(/credentials/);
    // The refusal never repeats the credential.
    expect(() => strict().checkUrl('https://user:hunter2@api.example.com/', 'base_url')).not.toThrow(/hunter2/);
  });

  it('allows public hosts and names (resolved later), and anything when private URLs are allowed', () => {
    expect(strict().checkUrl('https://api.openai.com/v1').hostname).toBe('api.openai.com');
    expect(strict().checkUrl('http://8.8.8.8/').hostname).toBe('8.8.8.8');
    const open = new UrlPolicy({ allowPrivate: true });
    expect(open.checkUrl('http://127.0.0.1:11434/v1').port).toBe('11434');
    expect(open.checkUrl('http://localhost/').hostname).toBe('localhost');
  });
});

describe('UrlPolicy.checkResolved (call time, DNS rebinding)', () => {
  const resolve = names({
    'rebind.example': ['127.0.0.1'],
    'mixed.example': ['93.184.216.34', '10.0.0.1'],
    'public.example': ['93.184.216.34'],
    'meta.example': ['::ffff:169.254.169.254'],
  });

  it('refuses a name that resolves to a private address, even one of several', async () => {
    await expect(strict(resolve).checkResolved('http://rebind.example/v1', 'base_url')).rejects.toThrow(
      /base_url host rebind\.example is a loopback address \(127\.0\.0\.1\)/,
    );
    await expect(strict(resolve).checkResolved('http://mixed.example/')).rejects.toThrow(
      /private address \(10\.0\.0\.1\)/,
    );
    await expect(strict(resolve).checkResolved('http://meta.example/')).rejects.toThrow(/metadata/);
  });

  it('returns the addresses of a public name', async () => {
    await expect(strict(resolve).checkResolved('https://public.example/')).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  it('guarded lookup hands the socket exactly the addresses it checked', async () => {
    const policy = strict(resolve);
    const lookup = (hostname: string, all: boolean) =>
      new Promise<unknown>((resolvePromise, reject) =>
        policy.lookup(hostname, { all }, (error, address, family) =>
          error ? reject(error) : resolvePromise(all ? address : { address, family }),
        ),
      );
    await expect(lookup('public.example', false)).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(lookup('public.example', true)).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
    await expect(lookup('rebind.example', false)).rejects.toBeInstanceOf(UrlNotAllowedError);
  });
});

describe('UrlPolicy.fetch (connections and redirects go through the policy)', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/to-literal') res.writeHead(302, { location: `http://127.0.0.2:${port}/inside` }).end();
      else if (req.url === '/to-name') res.writeHead(302, { location: `http://inside.example:${port}/inside` }).end();
      else if (req.url === '/to-self') res.writeHead(302, { location: `http://outside.example:${port}/ok` }).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  });
  beforeEach(() => (hits.length = 0));

  // 127.0.0.1 plays "the public internet" here; every other loopback address stays refused.
  const resolve = names({ 'outside.example': ['127.0.0.1'], 'inside.example': ['127.0.0.2'] });
  const narrowed = () =>
    new UrlPolicy({
      allowPrivate: false,
      resolve,
      classify: (address) => (address === '127.0.0.1' ? null : addressRefusal(address)),
    });

  async function refusalOf(promise: Promise<unknown>): Promise<UrlNotAllowedError | null> {
    try {
      await promise;
      return null;
    } catch (error) {
      return urlRefusalOf(error);
    }
  }

  it('refuses a loopback literal and a name resolving to loopback before any byte is sent', async () => {
    const policy = strict(names({ 'rebind.example': ['127.0.0.1'] }));
    try {
      await expect(refusalOf(policy.fetch(`http://127.0.0.1:${port}/x`))).resolves.toBeInstanceOf(UrlNotAllowedError);
      await expect(refusalOf(policy.fetch(`http://rebind.example:${port}/x`))).resolves.toBeInstanceOf(
        UrlNotAllowedError,
      );
      expect(hits).toEqual([]);
    } finally {
      await policy.close();
    }
  });

  it('connects to an allowed address and re-checks every redirect hop (literal and resolved)', async () => {
    const policy = narrowed();
    try {
      const ok = await policy.fetch(`http://outside.example:${port}/to-self`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('ok');
      expect(hits).toEqual(['/to-self', '/ok']);

      hits.length = 0;
      const literal = await refusalOf(policy.fetch(`http://outside.example:${port}/to-literal`));
      expect(literal?.message).toMatch(/127\.0\.0\.2 is a loopback address/);
      const named = await refusalOf(policy.fetch(`http://outside.example:${port}/to-name`));
      expect(named?.message).toMatch(/inside\.example is a loopback address \(127\.0\.0\.2\)/);
      expect(hits).toEqual(['/to-literal', '/to-name']);
    } finally {
      await policy.close();
    }
  });

  it('allows local targets when private URLs are allowed (embedded mode)', async () => {
    const policy = new UrlPolicy({ allowPrivate: true });
    try {
      const response = await policy.fetch(`http://127.0.0.1:${port}/plain`);
      expect(await response.text()).toBe('ok');
    } finally {
      await policy.close();
    }
  });
});
