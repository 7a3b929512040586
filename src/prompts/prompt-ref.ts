/** Prompt names: what a reference `name@label` can carry unambiguously. */
export const PROMPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;
/** Labels: `production`, `staging`, any `[a-z0-9-]{1,40}` that is not only digits (those are versions). */
export const LABEL = /^(?![0-9]+$)[a-z0-9-]{1,40}$/;
/** A reference to the newest version, whatever its labels. Not a label one can move. */
export const LATEST = 'latest';

export type VersionSelector = { version: number } | { label: string };

export interface PromptRef {
  name: string;
  selector: VersionSelector;
}

/** `name@3` (a version), `name@production` (a label) or `name@latest`; null when malformed. */
export function parsePromptRef(ref: string): PromptRef | null {
  const at = ref.lastIndexOf('@');
  if (at <= 0) return null;
  const name = ref.slice(0, at);
  const target = ref.slice(at + 1);
  if (!PROMPT_NAME.test(name)) return null;
  if (/^[1-9][0-9]{0,8}$/.test(target)) return { name, selector: { version: Number(target) } };
  if (target === LATEST || LABEL.test(target)) return { name, selector: { label: target } };
  return null;
}
