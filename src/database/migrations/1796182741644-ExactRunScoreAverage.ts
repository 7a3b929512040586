import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * run_values.avg_all becomes the exact average of a run's scores (numeric sum of their decimal
 * texts, rounded once), as the score read model now computes it; existing rows are recomputed.
 */
export class ExactRunScoreAverage1796182741644 implements MigrationInterface {
  name = 'ExactRunScoreAverage1796182741644';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE run_values rv SET avg_all = x.avg_all
        FROM (SELECT s.run_id, avg(s.value::text::numeric)::float8 AS avg_all FROM scores s GROUP BY s.run_id) x
       WHERE x.run_id = rv.run_id AND rv.avg_all IS DISTINCT FROM x.avg_all`);
  }

  public async down(): Promise<void> {
    // The float8 averages it replaced were order-dependent: nothing to restore.
  }
}
