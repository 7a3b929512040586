import { inputHasVariable, templateVariables } from '../../domain/template';
import { ScorerError } from '../scorer';

/**
 * `{{ name }}` placeholders: the grammar of experiments/template-variables.ts (which does not
 * export its pattern; one shared export there would remove this copy).
 */
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

function asPromptText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function lookup(
  name: string,
  output: string,
  input: Record<string, unknown> | string,
): { found: boolean; value?: unknown } {
  if (name === 'output') return { found: true, value: output };
  if (name === 'input') return { found: true, value: input };
  const field = name.startsWith('input.') ? name.slice('input.'.length) : name;
  if (typeof input !== 'object' || input === null || !inputHasVariable(input, field)) return { found: false };
  return { found: true, value: input[field] };
}

/**
 * Fills a judge rubric: `{{output}}` is the run's output (always, even if the input has an
 * `output` field: reach that one as `{{input.output}}`); `{{input}}` the whole input_data (JSON
 * when it is an object); `{{input.f}}` and `{{f}}` the input field f (non-strings as JSON). A
 * placeholder that names nothing is an error, as for run prompts: a half-filled rubric is never sent.
 */
export function renderRubric(rubric: string, output: string, input: Record<string, unknown> | string): string {
  const missing = templateVariables(rubric).filter((name) => !lookup(name, output, input).found);
  if (missing.length > 0) {
    throw new ScorerError(
      `rubric variable(s) missing from the run's input_data: ${missing.map((m) => `{{${m}}}`).join(', ')}`,
    );
  }
  return rubric.replace(PLACEHOLDER, (_m, name: string) => asPromptText(lookup(name, output, input).value));
}
