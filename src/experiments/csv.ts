/**
 * RFC 4180 fields: quoted when they contain a comma, a double quote, CR or LF (quotes doubled);
 * records end with CRLF. null/undefined are empty fields; objects are written as JSON.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else text = JSON.stringify(value) ?? '';
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRecord(values: unknown[]): string {
  return values.map(csvField).join(',') + '\r\n';
}
