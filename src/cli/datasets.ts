import { createReadStream, statSync } from 'fs';
import { extname } from 'path';
import { Readable } from 'stream';
import { type ApiClient, authHeaders, call } from './client';
import { type CliEnv } from './env';
import { CliError, networkMessage, serverMessage } from './errors';

/** 201 of POST /api/datasets/{id}/versions (API.md, "Datasets"). */
export interface DatasetVersion {
  dataset_id: string;
  version: number;
  item_count: number;
  content_hash: string;
  created_at: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.csv': 'text/csv',
  '.jsonl': 'application/x-ndjson',
  '.ndjson': 'application/x-ndjson',
  '.json': 'application/json',
};

/** The project to work in: the one given, else the caller's only project (an API key has exactly one). */
export async function resolveProject(env: CliEnv, client: ApiClient, given?: string): Promise<string> {
  if (given) return given;
  const projects = await call(env, client.GET('/api/projects'));
  if (projects.items.length === 1) return projects.items[0].id;
  throw new CliError(`you belong to ${projects.items.length} projects: give --project ID (or use a project API key)`);
}

/**
 * The dataset routes are called by their contract (API.md, "Datasets") with plain fetch rather than
 * the generated client: the version upload sends the file as a stream (CSV or NDJSON, half-duplex),
 * which the JSON-typed client is not set up for. `test/cli.e2e-spec.ts` runs them against the real routes.
 */
async function raw(
  env: CliEnv,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(`${env.url}${path}`, {
      ...init,
      method,
      headers: { ...authHeaders(env), ...(init.headers as Record<string, string> | undefined) },
    });
  } catch (error) {
    throw new CliError(networkMessage(env.url, error));
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: response.status, body };
}

/** Creates the dataset NAME in the project unless it exists, then uploads FILE as its next version (streamed). */
export async function pushDataset(
  env: CliEnv,
  client: ApiClient,
  name: string,
  file: string,
  projectId?: string,
): Promise<DatasetVersion> {
  const contentType = CONTENT_TYPES[extname(file).toLowerCase()];
  if (!contentType) throw new CliError(`${file}: expected a .csv, .jsonl, .ndjson or .json file`);
  try {
    statSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const project = await resolveProject(env, client, projectId);
  const base = `/api/projects/${encodeURIComponent(project)}/datasets`;
  const created = await raw(env, 'POST', base, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  let datasetId: string | undefined;
  if (created.status === 201) datasetId = (created.body as { id: string }).id;
  else if (created.status === 409) datasetId = await findDataset(env, base, name);
  else throw new CliError(serverMessage(created.status, created.body));
  if (!datasetId) throw new CliError(`dataset ${name} exists but could not be found in project ${project}`);

  const upload = await raw(env, 'POST', `/api/datasets/${encodeURIComponent(datasetId)}/versions`, {
    headers: { 'Content-Type': contentType },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    // Node's fetch streams a request body only in half-duplex mode.
    duplex: 'half',
  } as RequestInit);
  if (upload.status !== 201) throw new CliError(serverMessage(upload.status, upload.body));
  return upload.body as DatasetVersion;
}

async function findDataset(env: CliEnv, base: string, name: string): Promise<string | undefined> {
  for (let offset = 0; ; offset += 500) {
    const page = await raw(env, 'GET', `${base}?limit=500&offset=${offset}`);
    if (page.status !== 200) throw new CliError(serverMessage(page.status, page.body));
    const { items, total } = page.body as { items: { id: string; name: string }[]; total: number };
    const found = items.find((d) => d.name === name);
    if (found) return found.id;
    if (offset + items.length >= total || items.length === 0) return undefined;
  }
}
