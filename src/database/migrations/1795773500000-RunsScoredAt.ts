import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * `scored_at`: when automated scoring of a completed run finished. A worker that dies between
 * completing a run and scoring it leaves NULL, and the sweeper scores the run later.
 */
export class RunsScoredAt1795773500000 implements MigrationInterface {
  name = 'RunsScoredAt1795773500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD "scored_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`UPDATE "runs" SET "scored_at" = "completed_at" WHERE "status" = 'completed'`);
    await queryRunner.query(
      `CREATE INDEX "idx_runs_unscored" ON "runs" ("completed_at") WHERE status = 'completed' AND scored_at IS NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_runs_unscored"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "scored_at"`);
  }
}
