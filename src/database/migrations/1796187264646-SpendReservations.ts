import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Budgets (issue 13): one row per provider call in flight, so a reservation whose call never
 * settles (its process died between reserve and settle) can be released instead of being counted
 * forever. `experiments.spend_reserved_usd` stays the sum of its rows (both change in one statement).
 * - `run_id` + `holder` (the lease owner of a run's call): released when the sweeper requeues the run
 *   after that lease expired;
 * - `expires_at`: the reserving process's provider timeout plus its lease, after which the call has
 *   ended for sure (every other case: judge calls, a settle that failed, a sweeper that died).
 * Reservations from before this table cannot be told apart: ended experiments have nothing in
 * flight, so theirs are cleared.
 */
export class SpendReservations1796187264646 implements MigrationInterface {
  name = 'SpendReservations1796187264646';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "spend_reservations" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "experiment_id" uuid NOT NULL REFERENCES "experiments" ("id") ON DELETE CASCADE,
        "run_id" uuid,
        "holder" varchar(200),
        "kind" varchar(16) NOT NULL,
        "amount_usd" numeric(24, 12) NOT NULL CHECK ("amount_usd" >= 0),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "idx_spend_reservations_run" ON "spend_reservations" ("run_id")`);
    await queryRunner.query(`CREATE INDEX "idx_spend_reservations_expires" ON "spend_reservations" ("expires_at")`);
    await queryRunner.query(
      `CREATE INDEX "idx_spend_reservations_experiment" ON "spend_reservations" ("experiment_id")`,
    );
    await queryRunner.query(`
      UPDATE "experiments" SET "spend_reserved_usd" = 0
       WHERE "status" <> 'running' AND "spend_reserved_usd" <> 0`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "spend_reservations"`);
  }
}
