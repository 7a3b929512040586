import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Per-project provider connections (issue 13): endpoints, sealed keys and headers, limits, prices. */
export class ProviderConnections1796167293443 implements MigrationInterface {
  name = 'ProviderConnections1796167293443';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "provider_connections" (
        "id" uuid NOT NULL,
        "project_id" uuid NOT NULL REFERENCES "projects"("id") ON DELETE CASCADE,
        "name" varchar(31) NOT NULL,
        "kind" varchar(16) NOT NULL CHECK ("kind" IN ('openai', 'anthropic')),
        "base_url" text,
        "api_key_sealed" text,
        "api_key_last4" varchar(4),
        "headers_sealed" text,
        "header_names" jsonb NOT NULL DEFAULT '[]',
        "max_concurrency" integer,
        "rpm_limit" integer,
        "tpm_limit" integer,
        "prices" jsonb NOT NULL DEFAULT '{}',
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_provider_connections" PRIMARY KEY ("id"),
        CONSTRAINT "uq_provider_connections_project_name" UNIQUE ("project_id", "name")
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "provider_connections"`);
  }
}
