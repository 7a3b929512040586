import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'http';
import { Request, Response } from 'express';
import { ThrottlerException } from '@nestjs/throttler';
import { QueryFailedError } from 'typeorm';
import { DomainError, ErrorCode } from './domain-error';
import { DependencyUnavailableError, isDatabaseUnavailable, RETRY_AFTER_SECONDS } from './infrastructure-errors';
import { capProblems } from './problem-list';
import { requestIdOf } from './request-id';

const STATUS_BY_CODE: Record<ErrorCode, HttpStatus> = {
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.Invalid]: HttpStatus.BAD_REQUEST,
  [ErrorCode.Unauthorized]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.RunAlreadyFinished]: HttpStatus.CONFLICT,
  [ErrorCode.ExperimentConfigFrozen]: HttpStatus.CONFLICT,
  [ErrorCode.ExperimentAlreadyLaunched]: HttpStatus.CONFLICT,
  [ErrorCode.ExperimentNotLaunched]: HttpStatus.CONFLICT,
  [ErrorCode.ExperimentAlreadyCompleted]: HttpStatus.CONFLICT,
  [ErrorCode.ExperimentNotEnded]: HttpStatus.CONFLICT,
  [ErrorCode.NameTaken]: HttpStatus.CONFLICT,
  [ErrorCode.AlreadyMember]: HttpStatus.CONFLICT,
  [ErrorCode.ResourceInUse]: HttpStatus.CONFLICT,
  [ErrorCode.WebhookDisabled]: HttpStatus.CONFLICT,
  [ErrorCode.DeliveryInFlight]: HttpStatus.CONFLICT,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * The one place errors become HTTP: Nest's standard body `{statusCode, message, error}`.
 * Domain errors by code, unique violations → 409, body-parser errors keep their 4xx,
 * anything else → a plain 500 whose details only reach the log, tagged with a request id.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const response = ctx.getResponse<Response>();
    const request = ctx.getRequest<Request>();
    if (response.headersSent) {
      response.end();
      return;
    }
    const { status, body } = this.toHttp(exception, request);
    if (status === 503 && !response.getHeader('Retry-After'))
      response.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    response.status(status).json(body);
  }

  private toHttp(exception: unknown, request: Request): { status: number; body: Record<string, unknown> } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      const error = REASON[status] ?? STATUS_CODES[status] ?? 'Error';
      if (exception instanceof ThrottlerException) {
        return { status, body: { statusCode: status, message: 'Too many requests, retry later', error } };
      }
      const body =
        typeof res === 'string' ? { statusCode: status, message: res, error } : (res as Record<string, unknown>);
      return { status, body: { statusCode: status, error, ...body, message: capProblems(body.message) } };
    }
    if (exception instanceof DomainError) {
      const status = STATUS_BY_CODE[exception.code];
      const message = exception.code === ErrorCode.Invalid ? capProblems(exception.messages) : exception.message;
      return { status, body: { statusCode: status, message, error: REASON[status] } };
    }
    if (exception instanceof DependencyUnavailableError || isDatabaseUnavailable(exception)) {
      this.logger.warn(`${request.method} ${request.path}: database unavailable (${(exception as Error).message})`);
      return {
        status: 503,
        body: { statusCode: 503, message: 'The database is unavailable; retry shortly', error: 'Service Unavailable' },
      };
    }
    const driverCode = (exception as { driverError?: { code?: string }; code?: string } | null)?.driverError?.code;
    if (exception instanceof QueryFailedError && driverCode === '23505') {
      return { status: 409, body: { statusCode: 409, message: 'Resource already exists', error: 'Conflict' } };
    }
    // body-parser errors (too large, malformed JSON) carry their own 4xx status.
    const parserStatus = (exception as { status?: number; type?: string } | null)?.status;
    if (typeof parserStatus === 'number' && parserStatus >= 400 && parserStatus < 500) {
      const message = parserStatus === 413 ? 'Request body exceeds the 1 MiB limit' : (exception as Error).message;
      return {
        status: parserStatus,
        body: { statusCode: parserStatus, message, error: REASON[parserStatus] ?? 'Bad Request' },
      };
    }
    const requestId = requestIdOf(request);
    this.logger.error(
      `request ${requestId} ${request.method} ${request.path} failed: ${(exception as Error)?.message ?? exception}`,
      (exception as Error)?.stack,
    );
    return {
      status: 500,
      body: {
        statusCode: 500,
        message: 'Internal server error',
        error: 'Internal Server Error',
        request_id: requestId,
      },
    };
  }
}
