import type Anthropic from '@anthropic-ai/sdk';
import { isPlainObject } from '../common/is-plain-object';
import {
  type ChatMessage,
  type JsonValue,
  type LlmParams,
  type ProviderAnswer,
  ProviderError,
  type ToolCall,
  type UnsupportedField,
} from './llm.types';
import { passThroughParams } from './provider-errors';

type MessageParams = Anthropic.MessageCreateParamsNonStreaming;
type Block = Anthropic.ContentBlockParam;

/** The Messages API requires max_tokens; grids written for OpenAI often leave it out. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

/** The request's own fields: a param of the same name never overrides them. */
const RESERVED = ['model', 'messages', 'stream'];

/**
 * OpenAI request fields the Messages API has no equivalent for. Refused when an experiment or run is
 * created rather than dropped: a grid that sweeps `seed` on Anthropic would otherwise measure nothing.
 */
const NO_EQUIVALENT: Record<string, string> = {
  seed: 'the Messages API has no seed (sampling cannot be made reproducible)',
  n: 'the Messages API returns one completion per call (use repetitions)',
  logprobs: 'the Messages API returns no log probabilities',
  top_logprobs: 'the Messages API returns no log probabilities',
  logit_bias: 'the Messages API has no logit bias',
  frequency_penalty: 'the Messages API has no frequency penalty',
  presence_penalty: 'the Messages API has no presence penalty',
  user: 'use metadata: {"user_id": …} instead',
  reasoning_effort: 'use thinking (or output_config.effort) instead',
};

/** Anthropic stop_reason → the finish_reason vocabulary of OpenAI, so runs of both rank side by side. */
const FINISH_REASON: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/**
 * Everything of a call the Messages API cannot be given faithfully. The mapping itself
 * (anthropicRequestBody) is defined exactly on the calls this finds nothing wrong with.
 */
export function anthropicUnsupported(messages: ChatMessage[], params: LlmParams): UnsupportedField[] {
  const problems: UnsupportedField[] = [];
  const refuse = (field: string, reason: string) => problems.push({ field, reason });

  let conversationStarted = false;
  messages.forEach((message, i) => {
    if (message.role !== 'system') conversationStarted = true;
    else if (conversationStarted)
      refuse(`messages[${i}]`, 'system text goes before the conversation (the `system` field): move it first');
    (message.tool_calls ?? []).forEach((call, j) => {
      if (!isPlainObject(call.arguments))
        refuse(`messages[${i}].tool_calls[${j}].arguments`, 'tool_use input must be a JSON object');
    });
  });
  if (!conversationStarted) refuse('messages', 'the Messages API needs at least one user message');
  if (params.system !== undefined && params.system !== null && messages.some((m) => m.role === 'system'))
    refuse('params.system', 'the prompt already has system messages, which become the system text');

  for (const [key, reason] of Object.entries(NO_EQUIVALENT))
    if (params[key] !== undefined && params[key] !== null) refuse(`params.${key}`, reason);

  if (hasValue(params.stop) && hasValue(params.stop_sequences))
    refuse('params.stop', 'set either stop or stop_sequences, not both');
  if (hasValue(params.max_completion_tokens) && hasValue(params.max_tokens))
    refuse('params.max_completion_tokens', 'set either max_completion_tokens or max_tokens, not both');

  if (Array.isArray(params.tools)) {
    params.tools.forEach((tool, i) => {
      const fn = isPlainObject(tool) && tool.type === 'function' ? tool.function : undefined;
      if (!isPlainObject(fn)) return refuse(`params.tools[${i}]`, 'only function tools can be mapped');
      const schema = fn.parameters;
      if (schema !== undefined && !(isPlainObject(schema) && schema.type === 'object'))
        refuse(`params.tools[${i}].function.parameters`, 'an input_schema must be a JSON Schema of type "object"');
    });
  }
  const choice = params.tool_choice;
  if (choice !== undefined && choice !== null) {
    const mapped = toolChoiceOf(choice);
    if (mapped === null)
      refuse('params.tool_choice', 'only "auto", "none", "required" or {"type": "function", …} can be mapped');
    else if ((mapped.type === 'any' || mapped.type === 'tool') && !hasTools(params))
      refuse('params.tool_choice', 'a required tool call needs params.tools');
  }

  const format = params.response_format;
  if (isPlainObject(format)) {
    if (format.type === 'json_object')
      refuse('params.response_format', 'json_object has no equivalent: use {"type": "json_schema", …} with a schema');
    else if (format.type === 'json_schema' && !isPlainObject(jsonSchemaOf(format)))
      refuse('params.response_format.json_schema.schema', 'Anthropic structured output needs the schema itself');
    else if (format.type === 'json_schema' && hasValue(params.output_config))
      refuse('params.output_config', 'response_format already sets output_config.format: set one of them');
  }
  return problems;
}

/**
 * The Messages API body of one call: leading system messages → `system` (joined by a blank line),
 * tool messages → `tool_result` blocks (consecutive ones in one user turn), assistant tool calls →
 * `tool_use` blocks, OpenAI function tools → `input_schema` tools, `tool_choice` and
 * `parallel_tool_calls` → Anthropic's tool_choice, `stop` → `stop_sequences`, a json_schema
 * `response_format` → `output_config.format`. Other params are sent literally (top_k, thinking,
 * metadata…). A call anthropicUnsupported objects to is a permanent error, never sent half-mapped.
 */
export function anthropicRequestBody(model: string, messages: ChatMessage[], params: LlmParams): MessageParams {
  const problems = anthropicUnsupported(messages, params);
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
    throw new ProviderError(`anthropic:${model} cannot honour ${list}`, 'permanent');
  }
  const {
    stop,
    tools,
    tool_choice: toolChoice,
    parallel_tool_calls: parallel,
    response_format: responseFormat,
    max_completion_tokens: maxCompletionTokens,
    ...rest
  } = passThroughParams(params, RESERVED);

  const body: Record<string, unknown> = { max_tokens: maxCompletionTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS, ...rest };
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  if (system.length > 0) body.system = system.join('\n\n');
  if (stop !== undefined) body.stop_sequences = Array.isArray(stop) ? stop : [stop];

  // Without tools, tool_choice "auto"/"none" and parallel_tool_calls mean what no tools means: nothing to send.
  if (Array.isArray(tools) && tools.length > 0) {
    body.tools = tools.map(toAnthropicTool);
    const mapped = toolChoice === undefined ? null : toolChoiceOf(toolChoice);
    if (parallel === false && mapped?.type !== 'none')
      body.tool_choice = { ...(mapped ?? { type: 'auto' }), disable_parallel_tool_use: true };
    else if (mapped) body.tool_choice = mapped;
  }
  if (isPlainObject(responseFormat) && responseFormat.type === 'json_schema')
    body.output_config = { format: { type: 'json_schema', schema: jsonSchemaOf(responseFormat) } };

  return {
    ...body,
    model,
    messages: toAnthropicMessages(messages.filter((m) => m.role !== 'system')),
    stream: false,
  } as MessageParams;
}

function toAnthropicMessages(messages: ChatMessage[]): Anthropic.MessageParam[] {
  const out: Anthropic.MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'tool') {
      const result: Block = { type: 'tool_result', tool_use_id: message.tool_call_id ?? '', content: message.content };
      const previous = out[out.length - 1];
      // Every result of one assistant turn belongs in the single user turn that follows it.
      if (previous?.role === 'user' && Array.isArray(previous.content) && previous.content[0]?.type === 'tool_result')
        previous.content.push(result);
      else out.push({ role: 'user', content: [result] });
    } else if (message.role === 'assistant' && (message.tool_calls ?? []).length > 0) {
      const blocks: Block[] = message.content === '' ? [] : [{ type: 'text', text: message.content }];
      for (const call of message.tool_calls ?? [])
        blocks.push({
          type: 'tool_use',
          id: call.id,
          name: call.name,
          input: call.arguments as Record<string, unknown>,
        });
      out.push({ role: 'assistant', content: blocks });
    } else {
      out.push({ role: message.role === 'assistant' ? 'assistant' : 'user', content: message.content });
    }
  }
  return out;
}

function toAnthropicTool(tool: JsonValue): Anthropic.Tool {
  const fn = (tool as { function: Record<string, JsonValue> }).function;
  const out: Anthropic.Tool = {
    name: fn.name as string,
    input_schema: (fn.parameters as Anthropic.Tool.InputSchema | undefined) ?? { type: 'object', properties: {} },
  };
  if (typeof fn.description === 'string') out.description = fn.description;
  if (typeof fn.strict === 'boolean') out.strict = fn.strict;
  return out;
}

/** OpenAI tool_choice → Anthropic's; null when it has no equivalent. */
function toolChoiceOf(choice: JsonValue): Anthropic.ToolChoice | null {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  if (isPlainObject(choice) && choice.type === 'function' && isPlainObject(choice.function)) {
    const name = choice.function.name;
    return typeof name === 'string' && name !== '' ? { type: 'tool', name } : null;
  }
  return null;
}

function jsonSchemaOf(format: Record<string, JsonValue>): JsonValue | undefined {
  return isPlainObject(format.json_schema) ? format.json_schema.schema : undefined;
}

function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function hasTools(params: LlmParams): boolean {
  return Array.isArray(params.tools) && params.tools.length > 0;
}

/** Text blocks → output, tool_use blocks → tool calls, stop_reason → finish_reason, usage → tokens. */
export function anthropicAnswer(res: Anthropic.Message): ProviderAnswer {
  const blocks = res.content ?? [];
  const toolCalls: ToolCall[] = blocks
    .filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use')
    .map((block) => ({ id: block.id, name: block.name, arguments: block.input as JsonValue }));
  const reason = res.stop_reason ?? null;
  return {
    output: blocks.map((block) => (block.type === 'text' ? block.text : '')).join(''),
    tokensIn: res.usage?.input_tokens ?? 0,
    tokensOut: res.usage?.output_tokens ?? 0,
    toolCalls: toolCalls.length > 0 ? toolCalls : null,
    finishReason: reason === null ? null : (FINISH_REASON[reason] ?? reason),
  };
}
