import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Chat prompts and tools (issue 11): each stage result keeps the tool calls the model made
 * (`[{id, name, arguments}]`, null when none) and why it stopped (`finish_reason`, OpenAI's words).
 */
export class StageToolCalls1796179390421 implements MigrationInterface {
  name = 'StageToolCalls1796179390421';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "stage_results" ADD "tool_calls" jsonb, ADD "finish_reason" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "stage_results" DROP COLUMN "finish_reason", DROP COLUMN "tool_calls"`);
  }
}
