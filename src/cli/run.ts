import { dirname, extname, basename, resolve } from 'path';
import { type ApiClient, call, type Schemas } from './client';
import { pushDataset, type DatasetVersion } from './datasets';
import { type CliEnv } from './env';
import { CliError, EXIT_GATE_FAILED, EXIT_OK } from './errors';
import { readExperimentFile } from './experiment-file';
import { type GateOptions, parseGateFlags, parseGateSection } from './gate-options';
import { type ProgressSink, progressBar, silentProgress, waitForEnd } from './progress';
import { gateReport, leaderboardTable } from './table';

export interface RunOptions {
  baseline?: string;
  gate: string[];
  wait: boolean;
  json: boolean;
  project?: string;
}

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `promptlooper run FILE`: uploads `config.dataset` when it is a file path, creates and launches
 * the experiment, follows it to its end, prints the configuration leaderboard and the gate's
 * verdict. Resolves with the exit code (0, or 1 when the gate failed); errors throw CliError.
 */
export async function runExperiment(
  env: CliEnv,
  client: ApiClient,
  file: string,
  options: RunOptions,
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const { body, gate: gateSection } = readExperimentFile(file);
  const gate: GateOptions = { ...parseGateSection(gateSection, file), ...parseGateFlags(options.gate) };
  const gating = ['min_mean', 'min_pass_rate', 'max_mean_drop'].some((k) => k in gate);
  if (!options.wait && (gating || options.baseline)) {
    throw new CliError(
      '--no-wait cannot be combined with --baseline or a gate: the verdict needs the finished experiment',
    );
  }
  if ('max_mean_drop' in gate && !options.baseline) throw new CliError('max_mean_drop needs --baseline ID');
  const log = (line: string) => {
    if (!options.json) io.stderr.write(`${line}\n`);
  };

  const dataset = await uploadDatasetFile(env, client, file, body, options.project ?? (body.project_id as string));
  if (dataset) log(`dataset ${dataset.dataset_id} version ${dataset.version}: ${dataset.item_count} items`);

  const experiment = await call(
    env,
    client.POST('/api/experiments', { body: body as unknown as Schemas['CreateExperimentDto'] }),
  );
  const launch = await call(
    env,
    client.POST('/api/experiments/{id}/launch', { params: { path: { id: experiment.id } }, body: {} }),
  );
  log(`experiment ${experiment.id} launched: ${launch.runs_created} runs`);
  if (!options.wait) {
    if (options.json) writeJson(io.stdout, { experiment_id: experiment.id, launch });
    else io.stdout.write(`${experiment.id}\n`);
    return EXIT_OK;
  }

  const sink: ProgressSink = options.json ? silentProgress : progressBar(io.stderr);
  const detail = await waitForEnd(env, client, experiment.id, sink);
  const board = await call(
    env,
    client.GET('/api/experiments/{id}/leaderboard', {
      params: { path: { id: experiment.id }, query: { limit: 500, ...(gate.scorer ? { scorer: gate.scorer } : {}) } },
    }),
  );

  let verdict: Schemas['GateResultDto'] | null = null;
  let comparison: Schemas['CompareToResultDto'] | null = null;
  if (gating) {
    verdict = await call(
      env,
      client.POST('/api/experiments/{id}/gate', {
        params: { path: { id: experiment.id } },
        body: { ...gate, ...(options.baseline ? { baseline_experiment_id: options.baseline } : {}) },
      }),
    );
    comparison = verdict.comparison;
  } else if (options.baseline) {
    comparison = await call(
      env,
      client.GET('/api/experiments/{id}/compare-to/{baseline_id}', {
        params: {
          path: { id: experiment.id, baseline_id: options.baseline },
          query: { a: gate.a, b: gate.b, scorer: gate.scorer },
        },
      }),
    );
  }

  if (options.json) {
    writeJson(io.stdout, {
      experiment_id: experiment.id,
      status: detail.status,
      progress: detail.progress,
      leaderboard: board.items,
      comparison,
      gate: verdict,
    });
  } else {
    io.stdout.write(`experiment ${experiment.id} ${detail.status}\n`);
    io.stdout.write(leaderboardTable(board.items));
    if (verdict) io.stdout.write(gateReport(verdict));
    else if (comparison) {
      io.stdout.write(
        `vs baseline ${comparison.baseline_experiment_id}: ${comparison.n_pairs} pairs, mean_diff ` +
          `${comparison.mean_diff === null ? 'n/a' : comparison.mean_diff.toFixed(4)}, t-test p ` +
          `${comparison.t_test_p === null ? 'n/a' : comparison.t_test_p.toPrecision(3)}\n`,
      );
    }
  }
  return verdict && !verdict.passed ? EXIT_GATE_FAILED : EXIT_OK;
}

/** `config.dataset: ./tickets.csv` (a path, relative to the file) → uploaded, replaced by {id, version}. */
async function uploadDatasetFile(
  env: CliEnv,
  client: ApiClient,
  file: string,
  body: Record<string, unknown>,
  projectId: string | undefined,
): Promise<DatasetVersion | null> {
  const config = body.config as Record<string, unknown> | undefined;
  const dataset = config?.dataset;
  if (typeof dataset !== 'string') return null;
  const path = resolve(dirname(file), dataset);
  const name = basename(path, extname(path));
  const version = await pushDataset(env, client, name, path, projectId);
  config!.dataset = { id: version.dataset_id, version: version.version };
  return version;
}

function writeJson(out: NodeJS.WritableStream, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
