import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Who is calling: a user (JWT) or a project API key (acts as an editor of its one project). */
export type Principal =
  { kind: 'user'; userId: string; email: string } | { kind: 'api_key'; apiKeyId: string; projectId: string };

export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<{ user: Principal }>().user;
});
