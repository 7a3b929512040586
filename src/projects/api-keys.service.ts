import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'crypto';
import { IsNull, Repository } from 'typeorm';
import { notFound } from '../common/domain-error';
import { ApiKey } from './api-key.entity';

/** Every key starts with this, which is how the auth guard tells keys from JWTs. */
export const API_KEY_PREFIX = 'pl_';

const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export interface CreatedApiKey {
  id: string;
  name: string;
  key: string;
  prefix: string;
  created_at: string;
}

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

@Injectable()
export class ApiKeysService {
  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  /** The secret is returned once; only its SHA-256 is stored (the key has 256 bits of entropy). */
  async create(projectId: string, name: string, createdBy: string | null): Promise<CreatedApiKey> {
    const visible = randomBytes(6).toString('hex');
    const key = `${API_KEY_PREFIX}${visible}_${randomBytes(32).toString('base64url')}`;
    const prefix = `${API_KEY_PREFIX}${visible}`;
    const row = await this.keys.save(this.keys.create({ projectId, name, prefix, keyHash: hashKey(key), createdBy }));
    return { id: row.id, name: row.name, key, prefix, created_at: row.createdAt.toISOString() };
  }

  async list(projectId: string): Promise<ApiKeyView[]> {
    const rows = await this.keys.find({ where: { projectId }, order: { createdAt: 'DESC', id: 'ASC' } });
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      created_at: r.createdAt.toISOString(),
      revoked_at: r.revokedAt?.toISOString() ?? null,
      last_used_at: r.lastUsedAt?.toISOString() ?? null,
    }));
  }

  async revoke(projectId: string, keyId: string): Promise<void> {
    const result = await this.keys.update({ id: keyId, projectId, revokedAt: IsNull() }, { revokedAt: new Date() });
    if (!result.affected) {
      const exists = await this.keys.exists({ where: { id: keyId, projectId } });
      if (!exists) throw notFound('API key not found');
    }
  }

  /** True while the key exists and is not revoked. */
  isActive(keyId: string): Promise<boolean> {
    return this.keys.exists({ where: { id: keyId, revokedAt: IsNull() } });
  }

  /** The active key for a presented secret, or null. Revocation takes effect on the next request. */
  async authenticate(presented: string): Promise<ApiKey | null> {
    const row = await this.keys.findOne({ where: { keyHash: hashKey(presented), revokedAt: IsNull() } });
    if (row) {
      // Coarse last-used stamp: at most one write per key per minute.
      const now = Date.now();
      if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > 60_000) {
        void this.keys.update(row.id, { lastUsedAt: new Date(now) }).catch(() => undefined);
      }
    }
    return row;
  }
}
