#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { apiClient } from './client';
import { pushDataset } from './datasets';
import { cliEnv } from './env';
import { CliError, EXIT_ERROR, EXIT_OK } from './errors';
import { exportExperiment } from './export';
import { runExperiment } from './run';

/**
 * `promptlooper`: runs experiments from files and gates CI on the result, as a client of the
 * REST API (PROMPTLOOPER_URL, PROMPTLOOPER_API_KEY). Exit codes: 0 passed, 1 gate failed,
 * 2 usage, file, network or server error.
 */
export function program(): Command {
  const env = cliEnv();
  const client = apiClient(env);
  let exitCode = EXIT_OK;
  const cli = new Command('promptlooper')
    .description(
      'Run PromptLooper experiments from YAML/JSON files and gate CI on them.\n' +
        'Environment: PROMPTLOOPER_URL (server root, default http://localhost:3000), PROMPTLOOPER_API_KEY.',
    )
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();

  cli
    .command('run')
    .description('create and launch the experiment of FILE, follow it, print its leaderboard and the gate verdict')
    .argument('<file>', 'YAML or JSON: the body of POST /api/experiments, plus optional gate: {…}')
    .option('--baseline <id>', 'baseline experiment to compare with (needed by max_mean_drop)')
    .option(
      '--gate <key=value>',
      'gate criterion, repeatable: min_mean, min_pass_rate, max_mean_drop, pass_threshold, alpha, a, b, scorer',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--no-wait', 'print the experiment id once launched and exit')
    .option('--project <id>', 'project for an uploaded dataset (default: your only project)')
    .option('--json', 'machine-readable output on stdout')
    .action(
      async (
        file: string,
        opts: { baseline?: string; gate?: string[]; wait: boolean; json?: boolean; project?: string },
      ) => {
        exitCode = await runExperiment(env, client, file, {
          baseline: opts.baseline,
          gate: opts.gate ?? [],
          wait: opts.wait,
          json: opts.json === true,
          project: opts.project,
        });
      },
    );

  cli
    .command('export')
    .description("stream an experiment's runs to stdout")
    .argument('<id>', 'experiment id')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'jsonl']).default('csv'))
    .action(async (id: string, opts: { format: 'csv' | 'jsonl' }) => {
      await exportExperiment(env, client, id, opts.format);
    });

  const datasets = cli.command('datasets').description('versioned datasets');
  datasets
    .command('push')
    .description('upload FILE (.csv, .jsonl, .json) as the next version of dataset NAME (created if missing)')
    .argument('<name>', 'dataset name')
    .argument('<file>', 'the items')
    .option('--project <id>', 'project (default: your only project)')
    .option('--json', 'machine-readable output on stdout')
    .action(async (name: string, file: string, opts: { project?: string; json?: boolean }) => {
      const version = await pushDataset(env, client, name, file, opts.project);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(version, null, 2)}\n`
          : `dataset ${version.dataset_id} version ${version.version}: ${version.item_count} items (${version.content_hash})\n`,
      );
    });

  cli.hook('preAction', () => {
    exitCode = EXIT_OK;
  });
  Object.defineProperty(cli, 'lastExitCode', { get: () => exitCode });
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  const cli = program();
  try {
    await cli.parseAsync(argv);
    return (cli as unknown as { lastExitCode: number }).lastExitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through exitOverride too; anything else is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    if (error instanceof CliError) {
      process.stderr.write(`promptlooper: ${error.message}\n`);
      return EXIT_ERROR;
    }
    process.stderr.write(`promptlooper: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT_ERROR;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
