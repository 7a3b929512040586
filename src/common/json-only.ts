import { type NextFunction, type Request, type Response } from 'express';

/**
 * Routes that take a non-JSON body (streamed uploads): a path pattern and the media types it accepts.
 * Everything else takes JSON only.
 */
export interface RawBodyRoute {
  method: string;
  path: RegExp;
  types: string[];
}

export const RAW_BODY_ROUTES: RawBodyRoute[] = [];

function mediaType(header: string | undefined): string | null {
  if (!header) return null;
  return header.split(';')[0].trim().toLowerCase() || null;
}

function isJson(type: string | null): boolean {
  return type === 'application/json' || (type !== null && /^application\/[a-z0-9.+-]+\+json$/.test(type));
}

function hasBody(request: Request): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * A request with a body must send JSON (or a media type its route accepts): anything else is answered
 * 415 before a parser sees it, instead of being half-parsed into a list of nonsense validation errors.
 */
export function jsonOnlyMiddleware(routes: RawBodyRoute[] = RAW_BODY_ROUTES) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (!hasBody(request)) return next();
    const type = mediaType(request.headers['content-type']);
    if (isJson(type)) return next();
    const route = routes.find((r) => r.method === request.method && r.path.test(request.path));
    if (route && type !== null && route.types.includes(type)) return next();
    const accepted = route ? ['application/json', ...route.types].join(', ') : 'application/json';
    response.status(415).json({
      statusCode: 415,
      message: `Unsupported Content-Type ${type ?? '(none)'}: send the body as ${accepted}`,
      error: 'Unsupported Media Type',
    });
  };
}
