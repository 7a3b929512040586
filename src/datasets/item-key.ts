import { createHash, type Hash } from 'crypto';
import { canonicalJson } from '../domain/canonical-json';

/** Longest `id` accepted as an item key (a btree entry must stay well under PostgreSQL's limit). */
export const MAX_ITEM_ID_LENGTH = 512;

export type ItemKeyResult = { key: string; canonical: string } | { problem: string };

/**
 * The contract's `item_key`: the item's string field `id` where present, otherwise the lowercase
 * hex SHA-256 of the item's canonical JSON (RFC 8785). `canonical` is that canonical JSON, which is
 * also what the content hash and the database store.
 */
export function itemKeyOf(item: Record<string, unknown>): ItemKeyResult {
  let canonical: string;
  try {
    canonical = canonicalJson(item);
  } catch {
    return { problem: 'the item cannot be written as JSON (numbers must be finite)' };
  }
  // PostgreSQL's jsonb cannot hold U+0000; refuse it here with the line rather than fail the COPY.
  if (canonical.includes('\\u0000')) return { problem: 'text contains a NUL character (\\u0000)' };
  const id = item.id;
  if (typeof id === 'string') {
    if (id.length === 0) return { problem: '"id" must not be empty (omit it to key the item by its content)' };
    if (id.length > MAX_ITEM_ID_LENGTH) return { problem: `"id" is longer than ${MAX_ITEM_ID_LENGTH} characters` };
    return { key: id, canonical };
  }
  return { key: createHash('sha256').update(canonical, 'utf8').digest('hex'), canonical };
}

/**
 * The contract's `content_hash`: SHA-256 (lowercase hex) over the ordered items, each fed as the
 * canonical JSON of the pair `[item_key, data]` followed by a newline — i.e. the hash of a canonical
 * NDJSON of (key, item) pairs. Equal item lists in the same order give equal hashes, however they
 * were uploaded (NDJSON, CSV, JSON, or appended in several steps).
 */
export class ContentHasher {
  private readonly hash: Hash = createHash('sha256');

  /** `canonicalData` is the item's canonical JSON (as `itemKeyOf` returns it). */
  add(key: string, canonicalData: string): void {
    this.hash.update(`[${JSON.stringify(key)},${canonicalData}]\n`, 'utf8');
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
