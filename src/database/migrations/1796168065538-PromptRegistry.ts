import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The prompt registry (module `prompts/`): prompts, immutable numbered versions, and labels that
 * point at a version. A label row keeps the version it pointed at before its last move, so one
 * upsert can move it and answer the previous version atomically.
 */
export class PromptRegistry1796168065538 implements MigrationInterface {
  name = 'PromptRegistry1796168065538';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "prompts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "name" character varying(120) NOT NULL, "description" text, "latest_version" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_prompts" PRIMARY KEY ("id"), CONSTRAINT "uq_prompts_project_name" UNIQUE ("project_id", "name"), CONSTRAINT "fk_prompts_project" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(
      `CREATE TABLE "prompt_versions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "prompt_id" uuid NOT NULL, "version" integer NOT NULL, "template" jsonb NOT NULL, "params" jsonb NOT NULL DEFAULT '{}'::jsonb, "note" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_prompt_versions" PRIMARY KEY ("id"), CONSTRAINT "uq_prompt_versions_prompt_version" UNIQUE ("prompt_id", "version"), CONSTRAINT "fk_prompt_versions_prompt" FOREIGN KEY ("prompt_id") REFERENCES "prompts"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(
      `CREATE TABLE "prompt_labels" ("prompt_id" uuid NOT NULL, "label" character varying(40) NOT NULL, "version" integer NOT NULL, "previous_version" integer, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_prompt_labels" PRIMARY KEY ("prompt_id", "label"), CONSTRAINT "fk_prompt_labels_version" FOREIGN KEY ("prompt_id", "version") REFERENCES "prompt_versions"("prompt_id", "version") ON DELETE CASCADE)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "prompt_labels"`);
    await queryRunner.query(`DROP TABLE "prompt_versions"`);
    await queryRunner.query(`DROP TABLE "prompts"`);
  }
}
