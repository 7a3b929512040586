/**
 * The CLI's settings. The CLI is a separate program (a client of the REST API), so it reads its
 * own two variables here and nowhere else.
 */
export interface CliEnv {
  /** Server root without /api, e.g. http://localhost:3000. */
  url: string;
  /** A project API key (pl_…) or a user's access token; sent as a bearer token. */
  apiKey: string | undefined;
}

export const DEFAULT_URL = 'http://localhost:3000';

export function cliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const url = (env.PROMPTLOOPER_URL?.trim() || DEFAULT_URL).replace(/\/+$/, '');
  const apiKey = env.PROMPTLOOPER_API_KEY?.trim() || undefined;
  return { url, apiKey };
}
