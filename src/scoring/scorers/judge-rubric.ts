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

/** What a rubric can show of the run besides its output and input. */
export interface RubricRun {
  /** The rendered messages the run's last stage sent; null when unknown. */
  messages?: ReadonlyArray<{ role: string; content: string }> | null;
}

/** A readable transcript of the messages: `role: content` blocks; a lone user message is its text. */
function transcript(messages: ReadonlyArray<{ role: string; content: string }>): string {
  if (messages.length === 1 && messages[0].role === 'user') return messages[0].content;
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n\n');
}

function lookup(
  name: string,
  output: string,
  input: Record<string, unknown> | string,
  run: RubricRun,
): { found: boolean; value?: unknown } {
  if (name === 'output') return { found: true, value: output };
  if (name === 'run.messages' || name === 'run.prompt') {
    if (!run.messages) return { found: false };
    return { found: true, value: name === 'run.messages' ? JSON.stringify(run.messages) : transcript(run.messages) };
  }
  if (name === 'input') return { found: true, value: input };
  const field = name.startsWith('input.') ? name.slice('input.'.length) : name;
  if (typeof input !== 'object' || input === null || !inputHasVariable(input, field)) return { found: false };
  return { found: true, value: input[field] };
}

/**
 * Fills a judge rubric: `{{output}}` is the run's output (always, even if the input has an
 * `output` field: reach that one as `{{input.output}}`); `{{input}}` the whole input_data (JSON
 * when it is an object); `{{input.f}}` and `{{f}}` the input field f (non-strings as JSON);
 * `{{run.messages}}` the rendered messages the run sent (JSON) and `{{run.prompt}}` them as a
 * `role: content` transcript (a string prompt: its text). A
 * placeholder that names nothing is an error, as for run prompts: a half-filled rubric is never sent.
 */
export function renderRubric(
  rubric: string,
  output: string,
  input: Record<string, unknown> | string,
  run: RubricRun = {},
): string {
  const missing = templateVariables(rubric).filter((name) => !lookup(name, output, input, run).found);
  if (missing.length > 0) {
    throw new ScorerError(
      `rubric variable(s) missing from the run's input_data: ${missing.map((m) => `{{${m}}}`).join(', ')}`,
    );
  }
  return rubric.replace(PLACEHOLDER, (_m, name: string) => asPromptText(lookup(name, output, input, run).value));
}
