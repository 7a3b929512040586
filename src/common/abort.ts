/** Why a signal aborted, as an Error: its reason when that is one, else a standard AbortError. */
export function signalError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(typeof reason === 'string' ? reason : 'The operation was aborted', 'AbortError');
}
