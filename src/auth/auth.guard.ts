import { ExecutionContext, HttpException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { Request } from 'express';
import { DependencyUnavailableError, isDatabaseUnavailable } from '../common/infrastructure-errors';
import { IS_PUBLIC_KEY } from '../common/public.decorator';
import { API_KEY_PREFIX, ApiKeysService } from '../projects/api-keys.service';
import { Principal } from '../common/principal';
import { AuthService } from './auth.service';
import { ACCEPTS_SSE_TICKET, SseTicketService } from './sse-ticket.service';

/**
 * Global guard: every route needs `Authorization: Bearer <token>` unless marked @Public().
 * A token starting with `pl_` is a project API key; anything else must be a valid JWT. Routes marked
 * @AcceptsSseTicket() also take `?ticket=` (SseTicketService) when no Authorization header is sent.
 */
@Injectable()
export class GlobalAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly tickets: SseTicketService,
    private readonly auth: AuthService,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<Request & { user?: Principal }>();
    const header = request.headers.authorization ?? '';
    const ticket = request.query?.ticket;
    if (
      !header &&
      typeof ticket === 'string' &&
      this.reflector.get<boolean>(ACCEPTS_SSE_TICKET, context.getHandler())
    ) {
      request.user = await this.fromTicket(ticket, String(request.params?.id ?? ''));
      return true;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new UnauthorizedException('Missing bearer token');
    const token = match[1];
    if (token.startsWith(API_KEY_PREFIX)) {
      const key = await this.apiKeys.authenticate(token);
      if (!key) throw new UnauthorizedException('Invalid or revoked API key');
      request.user = { kind: 'api_key', apiKeyId: key.id, projectId: key.projectId };
      return true;
    }
    return (await super.canActivate(context)) as boolean;
  }

  /** The ticket's principal, if it is still a valid one (user not deleted, API key not revoked). */
  private async fromTicket(ticket: string, experimentId: string): Promise<Principal> {
    const principal = this.tickets.verify(ticket, experimentId);
    const valid =
      principal !== null &&
      (principal.kind === 'user'
        ? await this.auth.userExists(principal.userId)
        : await this.apiKeys.isActive(principal.apiKeyId));
    if (!valid) throw new UnauthorizedException('Invalid or expired ticket');
    return principal;
  }

  override handleRequest<T>(err: unknown, user: T): T {
    // A signature that verified but a user lookup that could not run is an outage, not a bad token:
    // answering 401 would log every client out while the database is down.
    // Any other failure of the lookup is ours (500), never the client's token (401).
    if (err && !(err instanceof HttpException)) {
      if (isDatabaseUnavailable(err)) throw new DependencyUnavailableError('database', { cause: err });
      throw err instanceof Error ? err : new Error('authentication failed', { cause: err });
    }
    if (err || !user) throw new UnauthorizedException('Invalid or expired token');
    return user;
  }
}
