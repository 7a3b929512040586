import { randomBytes } from 'crypto';
import request from 'supertest';

type Http = Parameters<typeof request>[0];

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
  projectId: string;
}

let counter = 0;
export const uniqueEmail = (tag = 'user'): string =>
  `${tag}-${Date.now()}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

/** Registers and logs in a user through the API; their personal project is `projectId`. */
export async function registerUser(
  http: Http,
  overrides: { email?: string; password?: string; name?: string } = {},
): Promise<TestUser> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? 'password-123';
  const reg = await request(http)
    .post('/api/auth/register')
    .send({ email, password, name: overrides.name ?? 'Test User' });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await request(http).post('/api/auth/login').send({ email, password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return {
    id: reg.body.id,
    email: reg.body.email,
    password,
    token: login.body.access_token,
    projectId: reg.body.default_project_id,
  };
}

/** Adds `member` to `owner`'s project with a role. */
export async function addMember(
  http: Http,
  owner: TestUser,
  projectId: string,
  member: TestUser,
  role: 'owner' | 'editor' | 'viewer',
): Promise<void> {
  const res = await request(http)
    .post(`/api/projects/${projectId}/members`)
    .set('Authorization', `Bearer ${owner.token}`)
    .send({ email: member.email, role });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Creates a project API key (owner only) and returns its secret. */
export async function createApiKey(
  http: Http,
  owner: TestUser,
  projectId: string,
  name = 'test-key',
): Promise<{ id: string; key: string }> {
  const res = await request(http)
    .post(`/api/projects/${projectId}/api-keys`)
    .set('Authorization', `Bearer ${owner.token}`)
    .send({ name });
  if (res.status !== 201) throw new Error(`create key failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, key: res.body.key };
}

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
