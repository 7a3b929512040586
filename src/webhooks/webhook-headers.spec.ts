import { headerProblems } from './webhook-headers';

describe('headerProblems', () => {
  it('accepts token names with single-line values, and nothing at all', () => {
    expect(headerProblems({ 'X-Receiver-Token': 'rt_1', Authorization: 'Bearer abc' })).toEqual([]);
    expect(headerProblems(undefined)).toEqual([]);
    expect(headerProblems(null)).toEqual([]);
  });

  it.each([
    ['Connection', 'close'],
    ['keep-alive', 'timeout=5'],
    ['Transfer-Encoding', 'chunked'],
    ['TE', 'trailers'],
    ['Upgrade', 'h2c'],
    ['Proxy-Authorization', 'Basic x'],
    ['Host', 'example.com'],
    ['Content-Length', '1'],
    ['webhook-id', 'msg_1'],
    ['Webhook-Signature', 'v1,x'],
    ['WEBHOOK-TIMESTAMP', '1'],
  ])('refuses %s, naming the field', (name, value) => {
    expect(headerProblems({ [name]: value })).toEqual([expect.stringContaining(`headers.${name}`)]);
  });

  it('refuses bad names, multi-line or non-string values (never echoing a value), duplicates and too many', () => {
    expect(headerProblems({ 'bad name': 'x' })[0]).toContain('"bad name" is not a valid header name');
    const [multiLine] = headerProblems({ 'X-Token': 'secret\r\nInjected: 1' });
    expect(multiLine).toContain('headers.X-Token');
    expect(multiLine).not.toContain('secret');
    expect(headerProblems({ 'X-Token': 7 })).toHaveLength(1);
    expect(headerProblems({ 'X-Token': 'a', 'x-token': 'b' })).toEqual([expect.stringContaining('given twice')]);
    expect(headerProblems(['X-Token'])).toEqual(['headers must be an object of header name to string value']);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    expect(headerProblems(many)).toEqual(['headers may hold at most 20 entries']);
  });
});
