import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Budgets (issue 13): an optional budget per experiment, the spend settled so far (runs and LLM
 * judges apart), the spend reserved by provider calls in flight, and why an experiment stopped.
 */
export class ExperimentBudgets1796170187894 implements MigrationInterface {
  name = 'ExperimentBudgets1796170187894';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "experiments"
        ADD "budget_usd" numeric(18, 6) CHECK ("budget_usd" > 0),
        ADD "spend_cost_usd" numeric(24, 12) NOT NULL DEFAULT 0,
        ADD "spend_judge_usd" numeric(24, 12) NOT NULL DEFAULT 0,
        ADD "spend_reserved_usd" numeric(24, 12) NOT NULL DEFAULT 0,
        ADD "stop_reason" varchar(32)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "experiments"
        DROP COLUMN "stop_reason", DROP COLUMN "spend_reserved_usd", DROP COLUMN "spend_judge_usd",
        DROP COLUMN "spend_cost_usd", DROP COLUMN "budget_usd"`);
  }
}
