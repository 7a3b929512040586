import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class InitialSchema1795773288935 implements MigrationInterface {
  name = 'InitialSchema1795773288935';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "projects" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(200) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_6271df0a7aed1d6c0691ce6ac50" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "name" character varying(200) NOT NULL, "prefix" character varying(32) NOT NULL, "key_hash" character(64) NOT NULL, "created_by" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_f5de07dbb229225e2be643ff3d" ON "api_keys"  ("project_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_57384430aa1959f4578046c9b8" ON "api_keys"  ("key_hash") `);
    await queryRunner.query(
      `CREATE TABLE "users" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" character varying(320) NOT NULL, "name" character varying(200), "password_hash" character varying(200) NOT NULL, "default_project_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_97672ac88f789774dd47f7c8be3" UNIQUE ("email"), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE TYPE "public"."project_role" AS ENUM('owner', 'editor', 'viewer')`);
    await queryRunner.query(
      `CREATE TABLE "memberships" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "user_id" uuid NOT NULL, "role" "public"."project_role" NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_memberships_project_user" UNIQUE ("project_id", "user_id"), CONSTRAINT "PK_25d28bd932097a9e90495ede7b4" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_7c1e2fdfed4f6838e0c05ae505" ON "memberships"  ("user_id") `);
    await queryRunner.query(
      `CREATE TYPE "public"."experiment_status" AS ENUM('draft', 'running', 'completed', 'cancelled')`,
    );
    await queryRunner.query(
      `CREATE TABLE "experiments" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "name" character varying(200) NOT NULL, "description" text, "config" jsonb NOT NULL DEFAULT '{}'::jsonb, "scoring_config" jsonb, "status" "public"."experiment_status" NOT NULL DEFAULT 'draft', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "launched_at" TIMESTAMP WITH TIME ZONE, "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_aafe1321d916fac58ba06ad8178" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_experiments_project_created" ON "experiments"  ("project_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."run_status" AS ENUM('pending', 'running', 'completed', 'failed', 'cancelled')`,
    );
    await queryRunner.query(
      `CREATE TABLE "runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "experiment_id" uuid NOT NULL, "project_id" uuid NOT NULL, "config" jsonb NOT NULL, "config_hash" character(64) NOT NULL, "repetition" integer NOT NULL DEFAULT '0', "use_cache" boolean NOT NULL DEFAULT true, "status" "public"."run_status" NOT NULL DEFAULT 'pending', "attempt" integer NOT NULL DEFAULT '0', "lease_owner" character varying(200), "lease_expires_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "completed_at" TIMESTAMP WITH TIME ZONE, "duration_ms" integer, "tokens_in" integer, "tokens_out" integer, "cost_estimate" numeric(20,10), "cache_hit" boolean NOT NULL DEFAULT false, "cached_from_run_id" uuid, "output" text, "error" text, "scoring_errors" jsonb, CONSTRAINT "PK_46d6a1e257c38ba58f1a3c30836" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_runs_status_lease" ON "runs"  ("status", "lease_expires_at") `);
    await queryRunner.query(`CREATE INDEX "idx_runs_project" ON "runs"  ("project_id") `);
    await queryRunner.query(`CREATE INDEX "idx_runs_experiment_status" ON "runs"  ("experiment_id", "status") `);
    await queryRunner.query(
      `CREATE TABLE "stage_results" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "stage_name" character varying(200) NOT NULL, "stage_index" integer NOT NULL, "prompt" text NOT NULL, "output" text, "model" character varying(200) NOT NULL, "tokens_in" integer, "tokens_out" integer, "duration_ms" integer, "cost" numeric(20,10), "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_stage_results_run_stage" UNIQUE ("run_id", "stage_index"), CONSTRAINT "PK_82f191404a08681a45e9e93a225" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE TYPE "public"."score_source" AS ENUM('auto', 'human')`);
    await queryRunner.query(
      `CREATE TABLE "scores" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "scorer_name" character varying(200) NOT NULL, "value" double precision NOT NULL, "scorer_metadata" jsonb, "source" "public"."score_source" NOT NULL DEFAULT 'auto', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), CONSTRAINT "PK_c36917e6f26293b91d04b8fd521" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_scores_auto_run_scorer" ON "scores"  ("run_id", "scorer_name") WHERE source = 'auto'`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_scores_run_scorer_latest" ON "scores"  ("run_id", "scorer_name", "created_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "FK_f5de07dbb229225e2be643ff3d0" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "memberships" ADD CONSTRAINT "FK_6ab5ba6eb101e826e5a86561083" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "memberships" ADD CONSTRAINT "FK_7c1e2fdfed4f6838e0c05ae5051" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "experiments" ADD CONSTRAINT "FK_ec44577f1b015606c753c7cdbb2" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "FK_d21a39ca415e338c03ca211b9a8" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "stage_results" ADD CONSTRAINT "FK_8f34672ce8e70190c5e99f8e139" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "scores" ADD CONSTRAINT "FK_118cf16c2bd38ca2bdc50b3abed" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // Hand-written: indexes TypeORM decorators cannot express.
    // Runs list: newest started first, never-started last, stable tie-break on id.
    await queryRunner.query(`CREATE INDEX "idx_runs_started_desc" ON "runs" ("started_at" DESC NULLS LAST, "id")`);
    // Cache lookup: a completed run of the same project with the same hash and repetition.
    await queryRunner.query(
      `CREATE INDEX "idx_runs_cache" ON "runs" ("project_id", "config_hash", "repetition") WHERE status = 'completed'`,
    );
    // Sweeper: pending runs by age.
    await queryRunner.query(
      `CREATE INDEX "idx_runs_pending_created" ON "runs" ("created_at") WHERE status = 'pending'`,
    );
    await queryRunner.query(`CREATE INDEX "idx_stage_results_run" ON "stage_results" ("run_id")`);
    await queryRunner.query(
      `ALTER TABLE "users" ADD CONSTRAINT "fk_users_default_project" FOREIGN KEY ("default_project_id") REFERENCES "projects"("id") ON DELETE SET NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP CONSTRAINT "fk_users_default_project"`);
    await queryRunner.query(`DROP INDEX "public"."idx_stage_results_run"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_pending_created"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_cache"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_started_desc"`);
    await queryRunner.query(`ALTER TABLE "scores" DROP CONSTRAINT "FK_118cf16c2bd38ca2bdc50b3abed"`);
    await queryRunner.query(`ALTER TABLE "stage_results" DROP CONSTRAINT "FK_8f34672ce8e70190c5e99f8e139"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP CONSTRAINT "FK_d21a39ca415e338c03ca211b9a8"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP CONSTRAINT "FK_ec44577f1b015606c753c7cdbb2"`);
    await queryRunner.query(`ALTER TABLE "memberships" DROP CONSTRAINT "FK_7c1e2fdfed4f6838e0c05ae5051"`);
    await queryRunner.query(`ALTER TABLE "memberships" DROP CONSTRAINT "FK_6ab5ba6eb101e826e5a86561083"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "FK_f5de07dbb229225e2be643ff3d0"`);
    await queryRunner.query(`DROP INDEX "public"."idx_scores_run_scorer_latest"`);
    await queryRunner.query(`DROP INDEX "public"."uq_scores_auto_run_scorer"`);
    await queryRunner.query(`DROP TABLE "scores"`);
    await queryRunner.query(`DROP TYPE "public"."score_source"`);
    await queryRunner.query(`DROP TABLE "stage_results"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_experiment_status"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_project"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_status_lease"`);
    await queryRunner.query(`DROP TABLE "runs"`);
    await queryRunner.query(`DROP TYPE "public"."run_status"`);
    await queryRunner.query(`DROP INDEX "public"."idx_experiments_project_created"`);
    await queryRunner.query(`DROP TABLE "experiments"`);
    await queryRunner.query(`DROP TYPE "public"."experiment_status"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_7c1e2fdfed4f6838e0c05ae505"`);
    await queryRunner.query(`DROP TABLE "memberships"`);
    await queryRunner.query(`DROP TYPE "public"."project_role"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_57384430aa1959f4578046c9b8"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_f5de07dbb229225e2be643ff3d"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
    await queryRunner.query(`DROP TABLE "projects"`);
  }
}
