import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Runs report `queue_ms` (dispatch to claim) and `attempts` (provider calls made for the run,
 * retries included); null for runs that ended before these were recorded.
 */
export class RunQueueAndAttempts1796177002288 implements MigrationInterface {
  name = 'RunQueueAndAttempts1796177002288';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD "queue_ms" integer, ADD "attempts" integer`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "attempts", DROP COLUMN "queue_ms"`);
  }
}
