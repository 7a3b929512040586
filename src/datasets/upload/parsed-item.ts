import { invalid, type DomainError } from '../../common/domain-error';

/** One item as a format parser hands it on: the decoded value and where it started. */
export interface ParsedItem {
  value: unknown;
  /** 1-based source line (NDJSON, CSV); absent for JSON bodies, where the item index names it. */
  line?: number;
}

/** How an error names an item: `line 12` for line formats, `items[11]` for a JSON body. */
export function itemPlace(item: Pick<ParsedItem, 'line'>, index: number): string {
  return item.line !== undefined ? `line ${item.line}` : `items[${index}]`;
}

/** A 400 for one bad line, row or item; the upload creates nothing. */
export function badItem(place: string, problem: string): DomainError {
  return invalid(`${place}: ${problem}`);
}

/** Longest accepted line or item, in bytes: bounds the memory one item can take. */
export const MAX_ITEM_BYTES = 8 * 1024 * 1024;
