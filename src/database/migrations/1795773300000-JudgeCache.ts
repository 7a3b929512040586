import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Answers of llm_judge calls, per project, keyed by the SHA-256 of the canonical JSON of
 * {model, prompt, params}: an identical judge call reuses the answer (owned by scoring/, no entity:
 * it is read and written with plain SQL by PgJudgeCache).
 */
export class JudgeCache1795773300000 implements MigrationInterface {
  name = 'JudgeCache1795773300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "judge_cache" (
        "project_id" uuid NOT NULL,
        "key" character(64) NOT NULL,
        "model" character varying(200) NOT NULL,
        "output" text NOT NULL,
        "tokens_in" integer NOT NULL,
        "tokens_out" integer NOT NULL,
        "cost" numeric(20,10),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_judge_cache" PRIMARY KEY ("project_id", "key"),
        CONSTRAINT "FK_judge_cache_project" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "judge_cache"`);
  }
}
