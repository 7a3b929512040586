import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SecretBox } from '../security/secret-box';
import { type ConnectionPrice, ConnectionKind, ProviderConnection } from './connection.entity';

/** A connection with its secrets opened, for the provider layer only: never serialised. */
export interface ResolvedConnection {
  id: string;
  projectId: string;
  name: string;
  kind: ConnectionKind;
  baseUrl: string | null;
  apiKey: string | null;
  headers: Record<string, string>;
  maxConcurrency: number | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  prices: Record<string, ConnectionPrice>;
  /** Changes with every PATCH: a cached client is rebuilt when it differs. */
  version: string;
}

/** What model validation needs to know about a project's connections (no secrets). */
export interface ConnectionSummary {
  name: string;
  kind: ConnectionKind;
  apiKeySet: boolean;
  baseUrl: string | null;
  prices: Record<string, ConnectionPrice>;
}

/**
 * Read side of connections for the provider layer (API and worker processes): no access checks —
 * callers pass the project of the experiment or run they execute.
 */
@Injectable()
export class ConnectionResolver {
  constructor(
    @InjectRepository(ProviderConnection) private readonly repo: Repository<ProviderConnection>,
    private readonly box: SecretBox,
  ) {}

  /** The project's connections without secrets (model validation at creation). */
  async summaries(projectId: string): Promise<ConnectionSummary[]> {
    const rows = await this.repo.find({
      where: { projectId },
      select: { name: true, kind: true, apiKeySealed: true, baseUrl: true, prices: true },
    });
    return rows.map((r) => ({
      name: r.name,
      kind: r.kind,
      apiKeySet: r.apiKeySealed !== null,
      baseUrl: r.baseUrl,
      prices: r.prices,
    }));
  }

  /** The connection named `name` in the project with its secrets opened, or null (run time). */
  async resolve(projectId: string, name: string): Promise<ResolvedConnection | null> {
    const row = await this.repo.findOne({ where: { projectId, name } });
    if (!row) return null;
    return {
      id: row.id,
      projectId: row.projectId,
      name: row.name,
      kind: row.kind,
      baseUrl: row.baseUrl,
      apiKey: row.apiKeySealed ? this.box.open(row.apiKeySealed, row.id) : null,
      headers: row.headersSealed
        ? (JSON.parse(this.box.open(row.headersSealed, row.id)) as Record<string, string>)
        : {},
      maxConcurrency: row.maxConcurrency,
      rpmLimit: row.rpmLimit,
      tpmLimit: row.tpmLimit,
      prices: row.prices,
      version: row.updatedAt.toISOString(),
    };
  }
}
