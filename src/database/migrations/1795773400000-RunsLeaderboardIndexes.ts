import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Indexes for the run leaderboard and the score-filtered runs list (src/runs/runs.sql.ts), chosen
 * from EXPLAIN ANALYZE on 1M runs × 3 scores (bench/leaderboard.ts). Both are covering, so the
 * queries read them with index-only scans, ordered by run id, and merge-join / aggregate the
 * stream without sorting or hashing a million rows:
 * - runs of one experiment by id, carrying what the filters and the ranking read;
 * - scores of one run, each scorer's latest first (the DISTINCT ON order), carrying the value.
 * Hand-written: TypeORM's @Index cannot express DESC keys or INCLUDE columns.
 */
export class RunsLeaderboardIndexes1795773400000 implements MigrationInterface {
  name = 'RunsLeaderboardIndexes1795773400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_runs_experiment_id" ON "runs" ("experiment_id", "id") INCLUDE ("status", "completed_at", "started_at", "project_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_scores_run_latest" ON "scores" ("run_id", "scorer_name", "created_at" DESC, "id" DESC) INCLUDE ("value")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_scores_run_latest"`);
    await queryRunner.query(`DROP INDEX "public"."idx_runs_experiment_id"`);
  }
}
