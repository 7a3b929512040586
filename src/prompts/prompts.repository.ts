import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import { conflict, ErrorCode } from '../common/domain-error';
import { Prompt } from './prompt.entity';
import { type VersionSelector, LATEST } from './prompt-ref';
import { type PromptTemplate } from './prompt-template';
import { PromptVersion } from './prompt-version.entity';

const PROMPT_COLUMNS = `p.id, p.project_id AS "projectId", p.name, p.description, p.latest_version AS "latestVersion",
  p.created_at AS "createdAt", p.updated_at AS "updatedAt"`;
const VERSION_COLUMNS = `v.id, v.prompt_id AS "promptId", v.version, v.template, v.params, v.note, v.created_at AS "createdAt"`;

export interface LabelMove {
  label: string;
  version: number;
  previousVersion: number | null;
}

/** Every statement on `prompts`, `prompt_versions` and `prompt_labels` (this module owns them). */
@Injectable()
export class PromptsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(projectId: string, name: string, description: string | null): Promise<Prompt> {
    try {
      const rows: Prompt[] = await this.dataSource.query(
        `INSERT INTO prompts AS p (project_id, name, description) VALUES ($1, $2, $3) RETURNING ${PROMPT_COLUMNS}`,
        [projectId, name, description],
      );
      return rows[0];
    } catch (error) {
      const code = error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
      if (code === '23505')
        throw conflict(`A prompt named "${name}" already exists in this project`, ErrorCode.NameTaken);
      throw error;
    }
  }

  async findById(id: string): Promise<Prompt | null> {
    const rows: Prompt[] = await this.dataSource.query(`SELECT ${PROMPT_COLUMNS} FROM prompts p WHERE p.id = $1`, [id]);
    return rows[0] ?? null;
  }

  async findByName(projectId: string, name: string): Promise<Prompt | null> {
    const rows: Prompt[] = await this.dataSource.query(
      `SELECT ${PROMPT_COLUMNS} FROM prompts p WHERE p.project_id = $1 AND p.name = $2`,
      [projectId, name],
    );
    return rows[0] ?? null;
  }

  async listByProject(projectId: string, limit: number, offset: number): Promise<{ rows: Prompt[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.dataSource.query<Prompt[]>(
        `SELECT ${PROMPT_COLUMNS} FROM prompts p WHERE p.project_id = $1
          ORDER BY p.created_at DESC, p.id DESC LIMIT $2 OFFSET $3`,
        [projectId, limit, offset],
      ),
      this.dataSource.query<{ total: number }[]>(`SELECT count(*)::int AS total FROM prompts WHERE project_id = $1`, [
        projectId,
      ]),
    ]);
    return { rows, total: count[0].total };
  }

  /** `{label: version}` of each prompt in `promptIds` (prompts without labels map to `{}`). */
  async labelsOf(promptIds: string[]): Promise<Map<string, Record<string, number>>> {
    const labels = new Map<string, Record<string, number>>(promptIds.map((id) => [id, {}]));
    if (promptIds.length === 0) return labels;
    const rows: { prompt_id: string; label: string; version: number }[] = await this.dataSource.query(
      `SELECT prompt_id, label, version FROM prompt_labels WHERE prompt_id = ANY($1::uuid[]) ORDER BY label`,
      [promptIds],
    );
    for (const row of rows) labels.get(row.prompt_id)![row.label] = row.version;
    return labels;
  }

  /**
   * Adds the next version in one statement: bumping `prompts.latest_version` locks the prompt
   * row, so concurrent creations get 1, 2, 3, … without gaps or duplicates.
   */
  async addVersion(
    promptId: string,
    template: PromptTemplate,
    params: Record<string, unknown>,
    note: string | null,
  ): Promise<PromptVersion> {
    const rows: PromptVersion[] = await this.dataSource.query(
      `WITH bump AS (
         UPDATE prompts SET latest_version = COALESCE(latest_version, 0) + 1, updated_at = now()
          WHERE id = $1 RETURNING latest_version)
       INSERT INTO prompt_versions AS v (prompt_id, version, template, params, note)
       SELECT $1, latest_version, $2::jsonb, $3::jsonb, $4 FROM bump
       RETURNING ${VERSION_COLUMNS}`,
      [promptId, JSON.stringify(template), JSON.stringify(params), note],
    );
    return rows[0];
  }

  /** A version by number, by label, or the newest (`latest`); null when there is none. */
  async findVersion(promptId: string, selector: VersionSelector): Promise<PromptVersion | null> {
    let sql: string;
    let params: unknown[];
    if ('version' in selector) {
      sql = `SELECT ${VERSION_COLUMNS} FROM prompt_versions v WHERE v.prompt_id = $1 AND v.version = $2`;
      params = [promptId, selector.version];
    } else if (selector.label === LATEST) {
      sql = `SELECT ${VERSION_COLUMNS} FROM prompt_versions v WHERE v.prompt_id = $1 ORDER BY v.version DESC LIMIT 1`;
      params = [promptId];
    } else {
      sql = `SELECT ${VERSION_COLUMNS} FROM prompt_labels l
               JOIN prompt_versions v ON v.prompt_id = l.prompt_id AND v.version = l.version
              WHERE l.prompt_id = $1 AND l.label = $2`;
      params = [promptId, selector.label];
    }
    const rows: PromptVersion[] = await this.dataSource.query(sql, params);
    return rows[0] ?? null;
  }

  /**
   * Points `label` at `version` and answers the version it pointed at before, in one statement.
   * The upsert locks the label row, and `previous_version = prompt_labels.version` reads the row
   * as the last committed move left it, so concurrent moves queue up and each one reports the
   * move before it: none is lost. Null when the version does not exist.
   */
  /**
   * Moves a label in one statement (the upsert returns the previous version atomically); `also`
   * runs in the same transaction with the move (the outbox event commits with it).
   */
  async moveLabel(
    promptId: string,
    label: string,
    version: number,
    also: (manager: EntityManager, move: LabelMove) => Promise<unknown> = () => Promise.resolve(),
  ): Promise<LabelMove | null> {
    return this.dataSource.transaction(async (manager) => {
      const rows: { version: number; previous_version: number | null }[] = await manager.query(
        `INSERT INTO prompt_labels (prompt_id, label, version, previous_version)
         SELECT $1, $2, $3, NULL
          WHERE EXISTS (SELECT 1 FROM prompt_versions WHERE prompt_id = $1 AND version = $3)
         ON CONFLICT (prompt_id, label) DO UPDATE
            SET previous_version = prompt_labels.version, version = EXCLUDED.version, updated_at = now()
         RETURNING version, previous_version`,
        [promptId, label, version],
      );
      if (!rows[0]) return null;
      const move = { label, version: rows[0].version, previousVersion: rows[0].previous_version };
      await also(manager, move);
      return move;
    });
  }
}
