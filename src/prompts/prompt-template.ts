import { isPlainObject } from '../common/is-plain-object';

/** A chat message of a prompt (API.md Part 2, "Prompts as chat messages"). */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  tool_call_id?: string;
}

/** A prompt: a string (one user message) or `{messages}`. */
export type PromptTemplate = string | { messages: PromptMessage[] };

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const MESSAGE_FIELDS = new Set(['role', 'content', 'tool_call_id']);

/** Every problem of a prompt template, each naming its field under `at`. */
export function promptTemplateProblems(value: unknown, at: string): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [`${at} must not be empty`] : [];
  if (!isPlainObject(value)) return [`${at} must be a string or {"messages": [...]}`];
  const problems = Object.keys(value)
    .filter((k) => k !== 'messages')
    .map((k) => `${at}.${k} is not allowed (a prompt is a string or {"messages": [...]})`);
  const messages = value.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return [...problems, `${at}.messages must be a non-empty array of {role, content}`];
  }
  messages.forEach((message: unknown, i) => {
    const m = `${at}.messages[${i}]`;
    if (!isPlainObject(message)) return problems.push(`${m} must be an object {role, content}`);
    for (const key of Object.keys(message)) if (!MESSAGE_FIELDS.has(key)) problems.push(`${m}.${key} is not allowed`);
    if (typeof message.role !== 'string' || !ROLES.has(message.role)) {
      problems.push(`${m}.role must be one of system, user, assistant, tool`);
    }
    if (typeof message.content !== 'string') problems.push(`${m}.content must be a string`);
    if (message.role === 'tool' && (typeof message.tool_call_id !== 'string' || message.tool_call_id === '')) {
      problems.push(`${m}.tool_call_id is required for a tool message`);
    }
  });
  return problems;
}

/** Every text of a template that may hold `{{var}}` placeholders. */
export function templateTexts(template: PromptTemplate): string[] {
  return typeof template === 'string' ? [template] : template.messages.map((m) => m.content);
}
