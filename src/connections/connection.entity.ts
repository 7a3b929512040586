import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique, UpdateDateColumn } from 'typeorm';

/** USD per million tokens (the same shape as the provider price table). */
export interface ConnectionPrice {
  input: number;
  output: number;
}

export enum ConnectionKind {
  OpenAi = 'openai',
  Anthropic = 'anthropic',
}

/**
 * A project's provider endpoint. `name` is the model prefix inside the project. The API key and
 * the headers (which may carry credentials) are sealed with the SecretBox, bound to the row id.
 */
@Entity('provider_connections')
@Unique('uq_provider_connections_project_name', ['projectId', 'name'])
export class ProviderConnection {
  /** Chosen before the insert: the id is the associated data of the sealed secrets. */
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ type: 'varchar', length: 31 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  kind: ConnectionKind;

  @Column({ name: 'base_url', type: 'text', nullable: true })
  baseUrl: string | null;

  @Column({ name: 'api_key_sealed', type: 'text', nullable: true })
  apiKeySealed: string | null;

  @Column({ name: 'api_key_last4', type: 'varchar', length: 4, nullable: true })
  apiKeyLast4: string | null;

  /** Sealed JSON object of extra request headers, or null. */
  @Column({ name: 'headers_sealed', type: 'text', nullable: true })
  headersSealed: string | null;

  /** Header names only, for responses (values may be credentials). */
  @Column({ name: 'header_names', type: 'jsonb', default: () => "'[]'" })
  headerNames: string[];

  @Column({ name: 'max_concurrency', type: 'int', nullable: true })
  maxConcurrency: number | null;

  @Column({ name: 'rpm_limit', type: 'int', nullable: true })
  rpmLimit: number | null;

  @Column({ name: 'tpm_limit', type: 'int', nullable: true })
  tpmLimit: number | null;

  /** USD per million tokens, keyed by the model name after the prefix. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  prices: Record<string, ConnectionPrice>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Bumped by every PATCH: clients cached per connection are keyed by it. */
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
