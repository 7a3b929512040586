/** Domain errors carry a code; `AllExceptionsFilter` maps each code to one HTTP status. */
export enum ErrorCode {
  NotFound = 'NOT_FOUND',
  Forbidden = 'FORBIDDEN',
  Conflict = 'CONFLICT',
  Invalid = 'INVALID',
  Unauthorized = 'UNAUTHORIZED',
  Unavailable = 'UNAVAILABLE',
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string | string[],
  ) {
    super(Array.isArray(message) ? message.join('; ') : message);
    this.messages = Array.isArray(message) ? message : [message];
    this.name = 'DomainError';
  }
  readonly messages: string[];
}

export const notFound = (message: string): DomainError => new DomainError(ErrorCode.NotFound, message);
export const forbidden = (message = 'Insufficient role for this action'): DomainError =>
  new DomainError(ErrorCode.Forbidden, message);
export const conflict = (message: string): DomainError => new DomainError(ErrorCode.Conflict, message);
/** 400 with one or more messages (the contract lists every offending field). */
export const invalid = (message: string | string[]): DomainError => new DomainError(ErrorCode.Invalid, message);
