/**
 * RFC 4180 fields: quoted when they contain a comma, a double quote, CR or LF (quotes doubled);
 * records end with CRLF. null/undefined are empty fields; objects are written as JSON.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRecord(values: unknown[]): string {
  return values.map(csvField).join(',') + '\r\n';
}
