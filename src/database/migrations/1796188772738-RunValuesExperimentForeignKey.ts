import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * run_values rows go with their experiment (runs are only ever deleted with it, by cascade): the
 * foreign key now references experiments instead of runs. A key on run_id made every row a
 * rebuild inserts check and lock (FOR KEY SHARE) its run, dirtying every runs page of the
 * experiment; a key on experiment_id checks the same, already locked, row each time.
 */
export class RunValuesExperimentForeignKey1796188772738 implements MigrationInterface {
  name = 'RunValuesExperimentForeignKey1796188772738';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE run_values ADD CONSTRAINT run_values_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES experiments(id) ON DELETE CASCADE`,
    );
    await q.query(`ALTER TABLE run_values DROP CONSTRAINT run_values_run_id_fkey`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE run_values ADD CONSTRAINT run_values_run_id_fkey FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE`,
    );
    await q.query(`ALTER TABLE run_values DROP CONSTRAINT run_values_experiment_id_fkey`);
  }
}
