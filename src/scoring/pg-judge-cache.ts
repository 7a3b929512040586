import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JudgeCache, JudgeCacheEntry } from './scorers/llm-judge.scorer';

/** The llm_judge cache in the `judge_cache` table (primary key: project, key). */
@Injectable()
export class PgJudgeCache implements JudgeCache {
  constructor(private readonly dataSource: DataSource) {}

  async get(projectId: string, key: string): Promise<JudgeCacheEntry | null> {
    const rows: { output: string; tokens_in: number; tokens_out: number; cost: string | null }[] =
      await this.dataSource.query(
        'SELECT output, tokens_in, tokens_out, cost FROM judge_cache WHERE project_id = $1 AND key = $2',
        [projectId, key],
      );
    if (rows.length === 0) return null;
    const [row] = rows;
    return {
      output: row.output,
      tokensIn: row.tokens_in,
      tokensOut: row.tokens_out,
      cost: row.cost === null ? null : Number(row.cost),
    };
  }

  /** The first answer stays: concurrent identical calls may both ask, but the cache keeps one. */
  async put(projectId: string, key: string, model: string, entry: JudgeCacheEntry): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO judge_cache (project_id, key, model, output, tokens_in, tokens_out, cost)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (project_id, key) DO NOTHING`,
      [projectId, key, model, entry.output, entry.tokensIn, entry.tokensOut, entry.cost],
    );
  }
}
