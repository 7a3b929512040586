import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** idx_scores_run_latest (run_id, scorer_name, created_at DESC, id DESC) INCLUDE (value) covers it. */
export class DropRedundantScoreIndex1795773600000 implements MigrationInterface {
  name = 'DropRedundantScoreIndex1795773600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_scores_run_scorer_latest"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_scores_run_scorer_latest" ON "scores" ("run_id", "scorer_name", "created_at")`,
    );
  }
}
