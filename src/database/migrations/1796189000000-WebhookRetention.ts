import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Webhook retention (WEBHOOK_RETENTION_DAYS): the sweeper deletes finished deliveries (their attempt
 * log goes with them) and then relayed events that no delivery refers to any more, oldest first,
 * in pages. These two partial indexes make each page an index range instead of a table scan.
 */
export class WebhookRetention1796189000000 implements MigrationInterface {
  name = 'WebhookRetention1796189000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_deliveries_finished" ON "webhook_deliveries" ("updated_at")
        WHERE "status" IN ('succeeded', 'failed', 'abandoned')`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_outbox_events_dispatched" ON "outbox_events" ("dispatched_at") WHERE "dispatched_at" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_outbox_events_dispatched"`);
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_deliveries_finished"`);
  }
}
