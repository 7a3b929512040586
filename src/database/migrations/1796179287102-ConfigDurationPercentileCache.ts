import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The configuration leaderboard's p50/p95 durations, cached per configuration: `dur_version` moves
 * with every change of the configuration's valued runs (scoring's refresh), and the cached values
 * count only while `pct_version` equals it. A rebuilt row starts uncached.
 */
export class ConfigDurationPercentileCache1796179287102 implements MigrationInterface {
  name = 'ConfigDurationPercentileCache1796179287102';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "config_aggregates" ADD "dur_version" bigint NOT NULL DEFAULT 0, ADD "pct_version" bigint,
         ADD "p50_duration_ms" float8, ADD "p95_duration_ms" float8`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "config_aggregates" DROP COLUMN "p95_duration_ms", DROP COLUMN "p50_duration_ms",
         DROP COLUMN "pct_version", DROP COLUMN "dur_version"`,
    );
  }
}
