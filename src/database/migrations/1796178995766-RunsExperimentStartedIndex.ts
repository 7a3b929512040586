import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The runs list of one experiment in its order (started_at desc, id): a score-filtered page walks
 * it and stops after limit + offset matches, whatever the planner's statistics say.
 */
export class RunsExperimentStartedIndex1796178995766 implements MigrationInterface {
  name = 'RunsExperimentStartedIndex1796178995766';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_runs_experiment_started" ON "runs" ("experiment_id", "started_at" DESC NULLS LAST, "id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_runs_experiment_started"`);
  }
}
