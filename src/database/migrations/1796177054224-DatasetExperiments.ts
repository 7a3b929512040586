import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Experiments over datasets and registry prompts (issue 12): an experiment pins a dataset version
 * (a foreign key, so deleting a dataset in use fails with 23503 → 409); runs carry the dataset item
 * they came from and the registry prompt version they ran.
 */
export class DatasetExperiments1796177054224 implements MigrationInterface {
  name = 'DatasetExperiments1796177054224';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "experiments" ADD "dataset_version_id" uuid CONSTRAINT "fk_experiments_dataset_version" REFERENCES "dataset_versions"("id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_experiments_dataset_version" ON "experiments" ("dataset_version_id") WHERE "dataset_version_id" IS NOT NULL`,
    );
    await queryRunner.query(`ALTER TABLE "runs" ADD "dataset_item_key" text, ADD "prompt_version" jsonb`);
    await queryRunner.query(
      `CREATE INDEX "idx_runs_experiment_dataset_item" ON "runs" ("experiment_id", "dataset_item_key")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_runs_experiment_dataset_item"`);
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "prompt_version", DROP COLUMN "dataset_item_key"`);
    await queryRunner.query(`DROP INDEX "idx_experiments_dataset_version"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "dataset_version_id"`);
  }
}
