import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { Repository } from 'typeorm';
import { type Principal } from '../common/principal';
import { conflict, ErrorCode, invalid, notFound } from '../common/domain-error';
import { isPlainObject } from '../common/is-plain-object';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { SecretBox } from '../security/secret-box';
import { UrlPolicy } from '../security/url-policy';
import { ProviderConnection } from './connection.entity';
import { ConnectionDto, CreateConnectionDto, UpdateConnectionDto } from './dto/connection.dto';

const NOT_FOUND = 'Connection not found';
const PROJECT_NOT_FOUND = 'Project not found';
/** Prefixes that no connection may take. */
export const RESERVED_CONNECTION_NAMES = new Set(['mock']);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
/** Headers the HTTP client owns: a connection setting them would break or smuggle requests. */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te']);

/**
 * Project-scoped provider connections: the owner manages them, editors use them (as model
 * prefixes). The only writer of `provider_connections`. Secrets are sealed with the row id as
 * associated data and leave this service only inside `ResolvedConnection`.
 */
@Injectable()
export class ConnectionsService {
  constructor(
    @InjectRepository(ProviderConnection) private readonly repo: Repository<ProviderConnection>,
    private readonly access: AccessPolicy,
    private readonly box: SecretBox,
    private readonly urls: UrlPolicy,
  ) {}

  async create(principal: Principal, projectId: string, dto: CreateConnectionDto): Promise<ConnectionDto> {
    await this.access.require(principal, projectId, ProjectRole.Owner, PROJECT_NOT_FOUND);
    const problems = [
      ...(RESERVED_CONNECTION_NAMES.has(dto.name) ? [`name "${dto.name}" is reserved`] : []),
      ...headerProblems(dto.headers),
      ...priceProblems(dto.prices),
    ];
    if (problems.length) throw invalid(problems);
    if (dto.base_url !== undefined) await this.checkBaseUrl(dto.base_url);
    if (await this.repo.exists({ where: { projectId, name: dto.name } })) {
      throw conflict(`A connection named "${dto.name}" already exists in this project`, ErrorCode.NameTaken);
    }
    const id = randomUUID();
    const row = this.repo.create({
      id,
      projectId,
      name: dto.name,
      kind: dto.kind,
      baseUrl: dto.base_url ?? null,
      ...this.sealedKey(id, dto.api_key ?? null),
      ...this.sealedHeaders(id, dto.headers ?? null),
      maxConcurrency: dto.max_concurrency ?? null,
      rpmLimit: dto.rpm_limit ?? null,
      tpmLimit: dto.tpm_limit ?? null,
      prices: dto.prices ?? {},
    });
    await this.repo.insert(row);
    const saved = await this.repo.findOneByOrFail({ id });
    return toDto(saved, true);
  }

  async list(principal: Principal, projectId: string): Promise<ConnectionDto[]> {
    const role = await this.access.require(principal, projectId, ProjectRole.Viewer, PROJECT_NOT_FOUND);
    const rows = await this.repo.find({ where: { projectId }, order: { name: 'ASC', id: 'ASC' } });
    return rows.map((row) => toDto(row, role === ProjectRole.Owner));
  }

  async update(principal: Principal, id: string, dto: UpdateConnectionDto): Promise<ConnectionDto> {
    const row = await this.owned(principal, id);
    const problems = [...headerProblems(dto.headers ?? undefined), ...priceProblems(dto.prices ?? undefined)];
    if (problems.length) throw invalid(problems);
    if (typeof dto.base_url === 'string') await this.checkBaseUrl(dto.base_url);
    const patch: Partial<ProviderConnection> = {};
    if (dto.base_url !== undefined) patch.baseUrl = dto.base_url;
    if (dto.api_key !== undefined) Object.assign(patch, this.sealedKey(row.id, dto.api_key));
    if (dto.headers !== undefined) Object.assign(patch, this.sealedHeaders(row.id, dto.headers));
    if (dto.max_concurrency !== undefined) patch.maxConcurrency = dto.max_concurrency;
    if (dto.rpm_limit !== undefined) patch.rpmLimit = dto.rpm_limit;
    if (dto.tpm_limit !== undefined) patch.tpmLimit = dto.tpm_limit;
    if (dto.prices !== undefined) patch.prices = dto.prices ?? {};
    // updated_at moves even for an empty PATCH: harmless, and it keeps the version check simple.
    await this.repo.update({ id: row.id }, { ...patch, updatedAt: new Date() });
    return toDto(await this.repo.findOneByOrFail({ id: row.id }), true);
  }

  async remove(principal: Principal, id: string): Promise<void> {
    const row = await this.owned(principal, id);
    await this.repo.delete({ id: row.id });
  }

  private async owned(principal: Principal, id: string): Promise<ProviderConnection> {
    const row = await this.repo.findOne({ where: { id } });
    if (!row) throw notFound(NOT_FOUND);
    await this.access.require(principal, row.projectId, ProjectRole.Owner, NOT_FOUND);
    return row;
  }

  /** The literal host now, and (in distributed mode) every address it resolves to. */
  private async checkBaseUrl(raw: string): Promise<void> {
    this.urls.checkUrl(raw, 'base_url');
    if (this.urls.allowPrivate) return;
    try {
      await this.urls.checkResolved(raw, 'base_url');
    } catch (error) {
      if (error instanceof Error && error.name === 'UrlNotAllowedError') throw error;
      throw invalid(`base_url host ${new URL(raw).hostname} does not resolve`);
    }
  }

  private sealedKey(id: string, key: string | null): Pick<ProviderConnection, 'apiKeySealed' | 'apiKeyLast4'> {
    if (key === null) return { apiKeySealed: null, apiKeyLast4: null };
    return { apiKeySealed: this.box.seal(key, id), apiKeyLast4: key.length >= 8 ? key.slice(-4) : null };
  }

  private sealedHeaders(
    id: string,
    headers: Record<string, string> | null,
  ): Pick<ProviderConnection, 'headersSealed' | 'headerNames'> {
    if (!headers || Object.keys(headers).length === 0) return { headersSealed: null, headerNames: [] };
    return { headersSealed: this.box.seal(JSON.stringify(headers), id), headerNames: Object.keys(headers).sort() };
  }
}

function headerProblems(headers: unknown): string[] {
  if (headers === undefined || headers === null) return [];
  if (!isPlainObject(headers)) return ['headers must be an object of header name to string value'];
  const entries = Object.entries(headers);
  if (entries.length > 50) return ['headers may hold at most 50 entries'];
  const problems: string[] = [];
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) problems.push(`headers: "${name.slice(0, 100)}" is not a valid header name`);
    else if (FORBIDDEN_HEADERS.has(name.toLowerCase())) problems.push(`headers: "${name}" is set by the client`);
    // Never echo the value: it may be a credential.
    else if (typeof value !== 'string' || /[\r\n\0]/.test(value) || value.length > 8000)
      problems.push(`headers: the value of "${name}" must be a single-line string`);
  }
  return problems;
}

function priceProblems(prices: unknown): string[] {
  if (prices === undefined || prices === null) return [];
  if (!isPlainObject(prices)) return ['prices must be an object {model: {input, output}}'];
  const problems: string[] = [];
  for (const [model, price] of Object.entries(prices)) {
    const ok =
      model.length > 0 &&
      model.length <= 200 &&
      isPlainObject(price) &&
      Object.keys(price).every((k) => k === 'input' || k === 'output') &&
      [price.input, price.output].every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
    if (!ok) problems.push(`prices.${model.slice(0, 200)} must be {input, output}: USD per million tokens, ≥ 0`);
  }
  return problems;
}

function toDto(row: ProviderConnection, owner: boolean): ConnectionDto {
  return {
    id: row.id,
    project_id: row.projectId,
    name: row.name,
    kind: row.kind,
    base_url: row.baseUrl,
    api_key_set: row.apiKeySealed !== null,
    ...(owner ? { api_key_last4: row.apiKeyLast4 } : {}),
    header_names: row.headerNames,
    max_concurrency: row.maxConcurrency,
    rpm_limit: row.rpmLimit,
    tpm_limit: row.tpmLimit,
    prices: row.prices,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
