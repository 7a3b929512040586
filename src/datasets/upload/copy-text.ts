/**
 * Escapes a value for PostgreSQL's COPY text format: backslash, newline, carriage return and tab
 * are the only bytes with a meaning there. Canonical JSON never holds a raw control character, so
 * for item data this only doubles backslashes.
 */
export function copyTextEscape(value: string): string {
  return /[\\\n\r\t]/.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]) : value;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `COPY …, line 42` in a PostgreSQL error context: the 1-based row of the COPY data that failed. */
export function copyRowOfError(error: unknown): number | null {
  const where = (error as { where?: unknown } | null)?.where;
  if (typeof where !== 'string') return null;
  const match = /COPY [^,]+, line (\d+)/.exec(where);
  return match ? Number(match[1]) : null;
}

/**
 * Maps the n-th uploaded item (0-based) back to where it came from, storing only the points where
 * the distance between item number and source line changes: nothing for an NDJSON file without
 * blank lines or a CSV without multi-line fields, so memory does not grow with the upload.
 */
export class SourceLineMap {
  private rows: number[] = [];
  private offsets: number[] = [];

  record(row: number, line: number): void {
    const offset = line - row;
    if (this.offsets.length === 0 || this.offsets[this.offsets.length - 1] !== offset) {
      this.rows.push(row);
      this.offsets.push(offset);
    }
  }

  /** The source line of item `row`, or null when nothing was recorded for it. */
  lineOf(row: number): number | null {
    let lo = 0;
    let hi = this.rows.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid] <= row) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? null : row + this.offsets[found];
  }
}
