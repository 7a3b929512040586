/**
 * The ONE meaning of a prompt (API.md Part 2, "Prompts as chat messages"): a string (one `user`
 * message) or `{"messages": [{role, content, tool_call_id?, tool_calls?}]}`. Experiment prompts,
 * ad-hoc run prompts and stage prompts all go through this file: validation at creation, the
 * variable check (every message's content), and rendering for the executor.
 */

export type PromptRole = 'system' | 'user' | 'assistant' | 'tool';

export const PROMPT_ROLES: readonly PromptRole[] = ['system', 'user', 'assistant', 'tool'];

/** A tool call a few-shot assistant turn made. */
export interface PromptToolCall {
  id: string;
  name: string;
  arguments?: unknown;
}

export interface PromptMessage {
  role: PromptRole;
  /** May hold `{{var}}` placeholders. */
  content: string;
  /** `tool` messages: the id of the call they answer. */
  tool_call_id?: string;
  /** `assistant` messages: the calls that turn made. */
  tool_calls?: PromptToolCall[];
}

export interface MessagesPrompt {
  messages: PromptMessage[];
}

export type Prompt = string | MessagesPrompt;

/** Messages per prompt: far more than any real few-shot prompt, small enough to check in one pass. */
export const MAX_PROMPT_MESSAGES = 1000;

const MESSAGE_KEYS = ['role', 'content', 'tool_call_id', 'tool_calls'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isMessagesPrompt(prompt: unknown): prompt is MessagesPrompt {
  return isObject(prompt) && Array.isArray(prompt.messages);
}

/**
 * Every problem of one prompt, each naming its path under `at` (`config.prompts[0].messages[1].role …`).
 * Empty when the prompt is a non-empty string or a well-formed messages object.
 */
export function promptProblems(prompt: unknown, at: string): string[] {
  const shape = `${at} must be a non-empty string or {"messages": [{role, content}, …]}`;
  if (typeof prompt === 'string') return prompt.trim() === '' ? [shape] : [];
  if (!isObject(prompt)) return [shape];
  const problems: string[] = [];
  for (const key of Object.keys(prompt))
    if (key !== 'messages') problems.push(`${at}.${key} is not allowed (allowed: messages)`);
  const { messages } = prompt;
  if (!Array.isArray(messages) || messages.length === 0) {
    problems.push(`${at}.messages must be a non-empty list of {role, content}`);
    return problems;
  }
  if (messages.length > MAX_PROMPT_MESSAGES)
    return [...problems, `${at}.messages holds ${messages.length} messages: at most ${MAX_PROMPT_MESSAGES}`];
  messages.forEach((message, i) => {
    const where = `${at}.messages[${i}]`;
    if (!isObject(message)) return void problems.push(`${where} must be an object {role, content}`);
    for (const key of Object.keys(message))
      if (!MESSAGE_KEYS.includes(key))
        problems.push(`${where}.${key} is not allowed (allowed: ${MESSAGE_KEYS.join(', ')})`);
    const { role, content, tool_call_id, tool_calls } = message;
    if (typeof role !== 'string' || !PROMPT_ROLES.includes(role as PromptRole))
      problems.push(`${where}.role must be one of ${PROMPT_ROLES.join(', ')}`);
    if (typeof content !== 'string') problems.push(`${where}.content must be a string`);
    if (role === 'tool') {
      if (typeof tool_call_id !== 'string' || tool_call_id === '')
        problems.push(`${where}.tool_call_id is required for a tool message (the id of the call it answers)`);
    } else if (tool_call_id !== undefined) {
      problems.push(`${where}.tool_call_id is only allowed on tool messages`);
    }
    if (tool_calls !== undefined) {
      if (role !== 'assistant') problems.push(`${where}.tool_calls is only allowed on assistant messages`);
      else if (!Array.isArray(tool_calls)) problems.push(`${where}.tool_calls must be a list of {id, name, arguments}`);
      else
        tool_calls.forEach((call, j) => {
          if (
            !isObject(call) ||
            typeof call.id !== 'string' ||
            call.id === '' ||
            typeof call.name !== 'string' ||
            call.name === ''
          )
            problems.push(`${where}.tool_calls[${j}] must be {id, name, arguments?} with non-empty string id and name`);
        });
    }
  });
  return problems;
}

/** The texts of a (valid) prompt that may hold placeholders, each with its path under `at`. */
export function promptTexts(prompt: Prompt, at: string): Array<{ text: string; where: string }> {
  if (typeof prompt === 'string') return [{ text: prompt, where: at }];
  return prompt.messages.map((m, i) => ({ text: m.content, where: `${at}.messages[${i}].content` }));
}

/** A rendered chat message, as the provider adapters take it. */
export interface RenderedMessage {
  role: PromptRole;
  content: string;
  tool_call_id?: string;
  tool_calls?: Array<{ id: string; name: string; arguments: unknown }>;
}

/** The messages of a prompt with every content passed through `render` (a string → one user message). */
export function renderMessages(prompt: Prompt, render: (text: string) => string): RenderedMessage[] {
  if (typeof prompt === 'string') return [{ role: 'user', content: render(prompt) }];
  return prompt.messages.map((m) => {
    const out: RenderedMessage = { role: m.role, content: render(m.content) };
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.tool_calls !== undefined)
      out.tool_calls = m.tool_calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments ?? {} }));
    return out;
  });
}

/**
 * How a rendered prompt is stored as text (a stage result's `prompt`): a string prompt as itself,
 * a messages prompt as the JSON of its rendered messages.
 */
export function promptAsText(prompt: Prompt, messages: RenderedMessage[]): string {
  return typeof prompt === 'string' ? messages[0].content : JSON.stringify(messages);
}

/** Every content of a prompt joined by a blank line (what the dry-run estimate counts words of). */
export function promptPlainText(prompt: Prompt): string {
  return typeof prompt === 'string' ? prompt : prompt.messages.map((m) => m.content).join('\n\n');
}

/**
 * The rendered messages of a stage back from its stored `prompt` text (promptAsText): parsed for a
 * messages prompt, one user message for a string prompt. Null when the text is not what it should be.
 */
export function storedPromptMessages(template: Prompt, stored: string): RenderedMessage[] | null {
  if (!isMessagesPrompt(template)) return [{ role: 'user', content: stored }];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? (parsed as RenderedMessage[]) : null;
  } catch {
    return null;
  }
}
