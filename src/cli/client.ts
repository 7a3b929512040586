import createClient, { type Client } from 'openapi-fetch';
import { type components, type paths } from './api-types';
import { type CliEnv } from './env';
import { CliError, networkMessage, serverMessage } from './errors';

export type Schemas = components['schemas'];
export type ApiClient = Client<paths>;

/** The typed client of the server's own OpenAPI document (src/cli/api-types.ts). */
export function apiClient(env: CliEnv): ApiClient {
  const client = createClient<paths>({ baseUrl: env.url });
  client.use({
    onRequest({ request }) {
      if (env.apiKey) request.headers.set('Authorization', `Bearer ${env.apiKey}`);
      return request;
    },
  });
  return client;
}

export function authHeaders(env: CliEnv): Record<string, string> {
  return env.apiKey ? { Authorization: `Bearer ${env.apiKey}` } : {};
}

/**
 * The data of an openapi-fetch call, or a CliError with the server's message (or the network
 * failure). Every API call of the CLI goes through here.
 */
export async function call<T>(
  env: CliEnv,
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (error) {
    throw new CliError(networkMessage(env.url, error));
  }
  if (!result.response.ok) throw new CliError(serverMessage(result.response.status, result.error));
  return result.data as T;
}
