/**
 * Domain errors carry a code; `AllExceptionsFilter` maps each code to one HTTP status in one
 * exhaustive table (a new code does not compile until it has a status). The generic codes stand for
 * their class of failure; the feature codes name a specific rule, so callers and logs can tell them
 * apart without parsing messages (the contract's message strings stay as they are).
 */
export enum ErrorCode {
  NotFound = 'NOT_FOUND',
  Forbidden = 'FORBIDDEN',
  Conflict = 'CONFLICT',
  Invalid = 'INVALID',
  Unauthorized = 'UNAUTHORIZED',
  Unavailable = 'UNAVAILABLE',
  /** A run that already completed, failed or was cancelled. */
  RunAlreadyFinished = 'RUN_ALREADY_FINISHED',
  /** An experiment's config after launch. */
  ExperimentConfigFrozen = 'EXPERIMENT_CONFIG_FROZEN',
  ExperimentAlreadyLaunched = 'EXPERIMENT_ALREADY_LAUNCHED',
  /** Cancel or retry of a draft. */
  ExperimentNotLaunched = 'EXPERIMENT_NOT_LAUNCHED',
  ExperimentAlreadyCompleted = 'EXPERIMENT_ALREADY_COMPLETED',
  /** Gate or compare-to of an experiment with runs still open. */
  ExperimentNotEnded = 'EXPERIMENT_NOT_ENDED',
  /** A name (email, dataset, prompt, connection) that must be unique is taken. */
  NameTaken = 'NAME_TAKEN',
  AlreadyMember = 'ALREADY_MEMBER',
  /** Deleting something another resource still uses (a dataset pinned by an experiment). */
  ResourceInUse = 'RESOURCE_IN_USE',
  WebhookDisabled = 'WEBHOOK_DISABLED',
  DeliveryInFlight = 'DELIVERY_IN_FLIGHT',
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
/** 409: the resource's state forbids the change; `code` names the rule. */
export const conflict = (message: string, code: ConflictCode = ErrorCode.Conflict): DomainError =>
  new DomainError(code, message);

/** The codes that mean 409. */
export type ConflictCode =
  | ErrorCode.Conflict
  | ErrorCode.RunAlreadyFinished
  | ErrorCode.ExperimentConfigFrozen
  | ErrorCode.ExperimentAlreadyLaunched
  | ErrorCode.ExperimentNotLaunched
  | ErrorCode.ExperimentAlreadyCompleted
  | ErrorCode.ExperimentNotEnded
  | ErrorCode.NameTaken
  | ErrorCode.AlreadyMember
  | ErrorCode.ResourceInUse
  | ErrorCode.WebhookDisabled
  | ErrorCode.DeliveryInFlight;
/** 400 with one or more messages (the contract lists every offending field). */
export const invalid = (message: string | string[]): DomainError => new DomainError(ErrorCode.Invalid, message);
