import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Custom headers of a webhook subscription: the name → value map sealed like its secret (values
 * may be credentials), and the names in clear for responses.
 */
export class WebhookHeaders1796188220335 implements MigrationInterface {
  name = 'WebhookHeaders1796188220335';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "webhook_subscriptions"
        ADD COLUMN "headers_encrypted" text,
        ADD COLUMN "header_names" text[] NOT NULL DEFAULT '{}'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "webhook_subscriptions" DROP COLUMN "header_names", DROP COLUMN "headers_encrypted"`,
    );
  }
}
