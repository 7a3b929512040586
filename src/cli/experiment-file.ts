import { readFileSync } from 'fs';
import { isMap, parseDocument } from 'yaml';
import { CliError } from './errors';

/**
 * An experiment file: YAML or JSON (JSON is YAML) holding the body of POST /api/experiments,
 * plus optionally `gate:` (criteria for the CI verdict) which is not sent with the body.
 * A syntax error names the file, line and column.
 */
export interface ExperimentFile {
  body: Record<string, unknown>;
  gate: unknown;
}

export function readExperimentFile(path: string): ExperimentFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const [error] = doc.errors;
  if (error) {
    const at = error.linePos?.[0];
    const where = at ? `${path}:${at.line}:${at.col}` : path;
    throw new CliError(`${where}: invalid YAML: ${firstLine(error.message)}`);
  }
  if (!isMap(doc.contents)) throw new CliError(`${path}: expected a mapping with name, config and scoring_config`);
  const { gate, ...body } = doc.toJS() as Record<string, unknown>;
  return { body, gate };
}

/** The message without the position and source excerpt that prettyErrors appends (the position is printed first). */
const firstLine = (message: string): string => message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
