/** Exit codes of the CLI (API.md, "Comparing experiments and gating a change"). */
export const EXIT_OK = 0;
export const EXIT_GATE_FAILED = 1;
export const EXIT_ERROR = 2;

/** An error the CLI reports in one line and exits with `EXIT_ERROR`: usage, files, network, server. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The message of a NestJS error body (`{statusCode, message, error}`; message may be a list). */
export function serverMessage(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { message, error } = body as { message?: unknown; error?: unknown };
    const text = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : undefined;
    if (text) return `server answered ${status}${typeof error === 'string' ? ` ${error}` : ''}: ${text}`;
  }
  if (typeof body === 'string' && body.trim()) return `server answered ${status}: ${body.trim().slice(0, 500)}`;
  return `server answered ${status}`;
}

/** fetch's "fetch failed" with the useful part (ECONNREFUSED, ENOTFOUND, …) from its cause. */
export function networkMessage(url: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
  return `cannot reach ${url} (${detail}); is PROMPTLOOPER_URL right and the server up?`;
}
