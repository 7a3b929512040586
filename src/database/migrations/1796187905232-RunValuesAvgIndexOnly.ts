import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The score-filtered runs list counts its matches from run_values (experiment_id, avg_all); it
 * also checks each match's project_id, which the old index did not hold (it INCLUDEd run_id,
 * which no read needs), so every match cost a heap fetch. With project_id included the count is
 * an index-only range.
 */
export class RunValuesAvgIndexOnly1796187905232 implements MigrationInterface {
  name = 'RunValuesAvgIndexOnly1796187905232';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX idx_run_values_experiment_avg_project ON run_values (experiment_id, avg_all) INCLUDE (project_id)`,
    );
    await q.query(`DROP INDEX idx_run_values_experiment_avg`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX idx_run_values_experiment_avg ON run_values (experiment_id, avg_all) INCLUDE (run_id)`);
    await q.query(`DROP INDEX idx_run_values_experiment_avg_project`);
  }
}
