import canonicalize from 'canonicalize';
import { createHash } from 'crypto';
import { ContentHasher, itemKeyOf, MAX_ITEM_ID_LENGTH } from './item-key';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('itemKeyOf', () => {
  it('takes a string id as the key and the canonical JSON of the item otherwise', () => {
    expect(itemKeyOf({ id: 'a-1', b: 2, a: 1 })).toEqual({ key: 'a-1', canonical: '{"a":1,"b":2,"id":"a-1"}' });
    const keyed = itemKeyOf({ z: [1, { y: 'é', x: 1e21 }], a: null });
    expect(keyed).toEqual({
      key: sha256('{"a":null,"z":[1,{"x":1e+21,"y":"é"}]}'),
      canonical: '{"a":null,"z":[1,{"x":1e+21,"y":"é"}]}',
    });
    expect(itemKeyOf({ id: 7 })).toEqual({ key: sha256('{"id":7}'), canonical: '{"id":7}' });
  });

  it('refuses an empty or overlong id and text PostgreSQL cannot store', () => {
    expect(itemKeyOf({ id: '' })).toEqual({ problem: expect.stringContaining('"id" must not be empty') });
    expect(itemKeyOf({ id: 'x'.repeat(MAX_ITEM_ID_LENGTH + 1) })).toEqual({
      problem: expect.stringContaining('longer'),
    });
    expect(itemKeyOf({ t: 'a\u0000b' })).toEqual({ problem: expect.stringContaining('NUL') });
  });
});

describe('ContentHasher', () => {
  it('hashes the canonical JSON of each [item_key, data] pair followed by a newline, in order', () => {
    const items = [{ id: 'k"1', q: 'line\nbreak' }, { q: 2 }];
    const hasher = new ContentHasher();
    for (const item of items) {
      const keyed = itemKeyOf(item);
      if ('problem' in keyed) throw new Error(keyed.problem);
      hasher.add(keyed.key, keyed.canonical);
    }
    const expected = items
      .map((item) => `${canonicalize([typeof item.id === 'string' ? item.id : sha256(canonicalize(item)!), item])}\n`)
      .join('');
    expect(hasher.digest()).toBe(sha256(expected));
  });
});
