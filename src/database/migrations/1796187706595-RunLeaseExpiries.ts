import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Hardening (issue 19): how often a run's lease expired while it was executing (its worker stopped
 * without finishing it), apart from `attempt`, which infrastructure faults also bump (a lost queue
 * job, deliveries burned while PostgreSQL was down). Only this count fails a run as abandoned.
 * Existing rows start at 0: their past expiries cannot be told from their other requeues.
 */
export class RunLeaseExpiries1796187706595 implements MigrationInterface {
  name = 'RunLeaseExpiries1796187706595';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD "lease_expiries" integer NOT NULL DEFAULT 0`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "lease_expiries"`);
  }
}
