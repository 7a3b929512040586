/**
 * The ONE template syntax: `{{ name }}` placeholders (whitespace inside the braces allowed), in
 * prompts, stage prompts and judge rubrics. Launch validation, the dry-run estimate, ad-hoc run
 * checks and the executor's renderer (execution/stage-plan.ts) all read templates through this file.
 */
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/**
 * `stages.<name>.output` / `stages.<name>.tool_calls`: a multi-stage prompt's reference to an
 * earlier stage's output, or to its tool calls (rendered as JSON).
 */
const STAGE_OUTPUT_REF = /^stages\.([^.]+)\.(output|tool_calls)$/;

export type StageField = 'output' | 'tool_calls';

/** Placeholder names in order of first use, without duplicates. */
export function templateVariables(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]))];
}

/** Whether a variable names the stage namespace (`stages.…`), valid or not. */
export function isStageReference(variable: string): boolean {
  return variable === 'stages' || variable.startsWith('stages.');
}

/** The stage name of a well-formed `stages.<name>.output` (or `.tool_calls`) reference, else null. */
export function stageOutputRef(variable: string): string | null {
  return STAGE_OUTPUT_REF.exec(variable)?.[1] ?? null;
}

/** The stage name and field of a well-formed stage reference, else null. */
export function stageRef(variable: string): { name: string; field: StageField } | null {
  const match = STAGE_OUTPUT_REF.exec(variable);
  return match ? { name: match[1], field: match[2] as StageField } : null;
}

/**
 * Replaces every placeholder by `replace(name, whole)` (`whole` is the placeholder as written).
 */
export function replacePlaceholders(text: string, replace: (name: string, whole: string) => string): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => replace(name, whole));
}

/** `input_data` may be an object of variables or a plain string (then it offers none). */
export function inputVariables(
  inputData: Record<string, unknown> | string | null | undefined,
): Record<string, unknown> {
  return typeof inputData === 'object' && inputData !== null && !Array.isArray(inputData) ? inputData : {};
}

/** How a variable's value is written into a prompt: strings as they are, anything else as JSON. */
export function placeholderText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Whether an input supplies a variable: an own property whose value is not undefined. */
export function inputHasVariable(input: Record<string, unknown>, variable: string): boolean {
  return Object.prototype.hasOwnProperty.call(input, variable) && input[variable] !== undefined;
}

/**
 * Fills input variables (non-strings as JSON) and leaves every other placeholder as written.
 * Only for estimates: the executor renders for real and fails on a missing variable.
 */
export function fillInputVariables(text: string, input: Record<string, unknown>): string {
  return replacePlaceholders(text, (name, whole) =>
    inputHasVariable(input, name) ? placeholderText(input[name]) : whole,
  );
}

/**
 * Problems of one stage prompt text's `{{stages.…}}` references: each must be
 * `{{stages.<name>.output}}` or `{{stages.<name>.tool_calls}}` of a stage in `earlier`. `where` is
 * the text's path (`config.stages[1].prompt`, `….messages[0].content`); `all` names every stage.
 */
export function stageReferenceProblems(
  where: string,
  text: string,
  earlier: ReadonlySet<string>,
  all: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const variable of templateVariables(text)) {
    if (!isStageReference(variable)) continue;
    const ref = stageOutputRef(variable);
    if (ref === null)
      problems.push(
        `${where} uses {{${variable}}}: only {{stages.<name>.output}} or {{stages.<name>.tool_calls}} of an earlier stage is available`,
      );
    else if (!earlier.has(ref)) {
      problems.push(
        all.has(ref)
          ? `${where} uses {{${variable}}} but stage "${ref}" does not run before it`
          : `${where} uses {{${variable}}} but no stage is named "${ref}"`,
      );
    }
  }
  return problems;
}
