import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The score read model (owned by scoring/, see src/scoring/score-read-model.ts): what rankings and
 * score-filtered lists read, maintained in the same transaction as every score write, so a read
 * costs the page or the number of configurations, never the number of runs.
 *
 * - run_values: per run with at least one score, its value under the experiment's weights (the
 *   leaderboard's definition over each scorer's latest score), the latest score per scorer, the
 *   average of all its scores (the runs list's filter) and what the configuration leaderboard
 *   aggregates (cell key, duration, cost), with whether the run was completed when it was valued.
 * - config_aggregates / config_scorer_aggregates: per (experiment, configuration) the exact sums
 *   (numeric, so adding and removing a run's contribution never drifts) of what the configuration
 *   leaderboard reports.
 * - score_models: the weights the stored values were computed with; a read whose experiment has
 *   other weights now (PATCH before the rebuild finished) uses the set-based SQL instead.
 *
 * The backfill values every experiment that already has scores, as the rebuild does.
 */
export class ScoreReadModel1796166500209 implements MigrationInterface {
  name = 'ScoreReadModel1796166500209';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE run_values (
        run_id uuid PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        experiment_id uuid NOT NULL,
        project_id uuid NOT NULL,
        completed boolean NOT NULL,
        completed_at timestamptz,
        cell_key char(32) NOT NULL,
        value float8,
        latest jsonb,
        avg_all float8,
        duration_ms integer,
        cost_estimate numeric(20,10)
      )`);
    await q.query(
      `CREATE INDEX idx_run_values_rank ON run_values (experiment_id, value DESC, completed_at ASC NULLS LAST, run_id) WHERE completed AND value IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX idx_run_values_duration ON run_values (experiment_id, cell_key, duration_ms) WHERE completed AND value IS NOT NULL AND duration_ms IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX idx_run_values_cell ON run_values (experiment_id, cell_key) INCLUDE (value) WHERE completed AND value IS NOT NULL`,
    );
    await q.query(`CREATE INDEX idx_run_values_experiment_avg ON run_values (experiment_id, avg_all) INCLUDE (run_id)`);
    await q.query(`CREATE INDEX idx_run_values_project_avg ON run_values (project_id, avg_all) INCLUDE (run_id)`);
    await q.query(`
      CREATE TABLE config_aggregates (
        experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        cell_key char(32) NOT NULL,
        cell jsonb,
        n integer NOT NULL,
        sum_v numeric NOT NULL,
        sum_v2 numeric NOT NULL,
        pass_n integer NOT NULL,
        cost_n integer NOT NULL,
        sum_cost numeric NOT NULL,
        dur_n integer NOT NULL,
        PRIMARY KEY (experiment_id, cell_key)
      )`);
    await q.query(`
      CREATE TABLE config_scorer_aggregates (
        experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        cell_key char(32) NOT NULL,
        scorer_name varchar(200) NOT NULL,
        n integer NOT NULL,
        sum_v numeric NOT NULL,
        PRIMARY KEY (experiment_id, cell_key, scorer_name)
      )`);
    await q.query(`
      CREATE TABLE score_models (
        experiment_id uuid PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
        weights jsonb NOT NULL,
        rebuilt_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Backfill: the same definitions as src/scoring/score-read-model.sql.ts, for every run with scores.
    await q.query(`
      INSERT INTO run_values (run_id, experiment_id, project_id, completed, completed_at, cell_key, value, latest, avg_all, duration_ms, cost_estimate)
      SELECT r.id, r.experiment_id, r.project_id, r.status = 'completed', r.completed_at,
             md5(jsonb_build_array(r.config -> 'prompt', r.config -> 'model', coalesce(r.config -> 'params', '{}'::jsonb))::text),
             v.value, v.latest, a.avg_all, r.duration_ms, r.cost_estimate
      FROM runs r
      JOIN experiments e ON e.id = r.experiment_id
      CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(e.scoring_config -> 'weights') = 'object' THEN e.scoring_config -> 'weights' ELSE '{}'::jsonb END AS weights) w
      CROSS JOIN LATERAL (
        SELECT CASE WHEN coalesce(sum(l.weight), 0) = 0 THEN avg(l.value) ELSE sum(l.value * l.weight) / sum(l.weight) END AS value,
               jsonb_object_agg(l.scorer_name, l.value) AS latest
        FROM (
          SELECT DISTINCT ON (s.scorer_name) s.scorer_name, s.value,
                 CASE WHEN jsonb_typeof(w.weights -> s.scorer_name) = 'number' THEN (w.weights ->> s.scorer_name)::float8 END AS weight
          FROM scores s WHERE s.run_id = r.id
          ORDER BY s.scorer_name, s.created_at DESC, s.id DESC
        ) l
      ) v
      CROSS JOIN LATERAL (SELECT avg(s.value) AS avg_all FROM scores s WHERE s.run_id = r.id) a
      WHERE EXISTS (SELECT 1 FROM scores s WHERE s.run_id = r.id)`);
    await q.query(`
      INSERT INTO config_aggregates (experiment_id, cell_key, cell, n, sum_v, sum_v2, pass_n, cost_n, sum_cost, dur_n)
      SELECT rv.experiment_id, rv.cell_key,
             (SELECT jsonb_build_array(r.config -> 'prompt', r.config -> 'model', coalesce(r.config -> 'params', '{}'::jsonb))
                FROM runs r WHERE r.id = (array_agg(rv.run_id))[1]),
             count(*), sum(x.v), sum(x.v * x.v), count(*) FILTER (WHERE rv.value >= 0.5),
             count(rv.cost_estimate), coalesce(sum(rv.cost_estimate), 0), count(rv.duration_ms)
      FROM run_values rv CROSS JOIN LATERAL (SELECT rv.value::text::numeric AS v) x
      WHERE rv.completed AND rv.value IS NOT NULL
      GROUP BY rv.experiment_id, rv.cell_key`);
    await q.query(`
      INSERT INTO config_scorer_aggregates (experiment_id, cell_key, scorer_name, n, sum_v)
      SELECT rv.experiment_id, rv.cell_key, kv.key, count(*), sum(kv.value::text::numeric)
      FROM run_values rv CROSS JOIN LATERAL jsonb_each(rv.latest) kv
      WHERE rv.completed AND rv.value IS NOT NULL
      GROUP BY rv.experiment_id, rv.cell_key, kv.key`);
    await q.query(`
      INSERT INTO score_models (experiment_id, weights)
      SELECT e.id, CASE WHEN jsonb_typeof(e.scoring_config -> 'weights') = 'object' THEN e.scoring_config -> 'weights' ELSE '{}'::jsonb END
      FROM experiments e`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE score_models`);
    await q.query(`DROP TABLE config_scorer_aggregates`);
    await q.query(`DROP TABLE config_aggregates`);
    await q.query(`DROP TABLE run_values`);
  }
}
