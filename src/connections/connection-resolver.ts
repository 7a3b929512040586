import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { GroupCommit } from '../common/group-commit';
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

/** One lookup of a connection in flight at a time; the callers meanwhile share the next one. */
const LOOKUP_BATCHING = { maxRows: 1000, maxInFlight: 1 };

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
  private readonly lookups = new Map<string, GroupCommit<null, ResolvedConnection | null>>();

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

  /**
   * The connection named `name` in the project with its secrets opened, or null (run time).
   * Lookups of one connection made close together share one query that starts after each of them
   * (group commit): a grid's runs do not cost one query each, and a PATCH is never missed.
   */
  resolve(projectId: string, name: string): Promise<ResolvedConnection | null> {
    const key = JSON.stringify([projectId, name]);
    let group = this.lookups.get(key);
    if (!group) {
      group = new GroupCommit<null, ResolvedConnection | null>(async (batch) => {
        const found = await this.lookup(projectId, name);
        return batch.map(() => found);
      }, LOOKUP_BATCHING);
      if (this.lookups.size >= 1000) this.lookups.clear();
      this.lookups.set(key, group);
    }
    return group.submit(null);
  }

  private async lookup(projectId: string, name: string): Promise<ResolvedConnection | null> {
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
