import type OpenAI from 'openai';
import { type ChatMessage, type JsonValue, type LlmParams, type ProviderAnswer, type ToolCall } from './llm.types';
import { passThroughParams } from './provider-errors';

type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type OpenAiMessage = OpenAI.Chat.ChatCompletionMessageParam;

/** The request's own fields: a param of the same name never overrides them. */
const RESERVED = ['model', 'messages', 'stream'];

/**
 * The Chat Completions body of one call. Messages map one to one; every param (`tools`,
 * `tool_choice`, `response_format`, `stop`, `seed`, temperature, …) is sent literally: an
 * OpenAI-compatible server (vLLM, Ollama, LiteLLM) may accept more than OpenAI itself.
 */
export function openAiRequestBody(model: string, messages: ChatMessage[], params: LlmParams): ChatParams {
  const body: Record<string, unknown> = {
    ...passThroughParams(params, RESERVED),
    model,
    messages: messages.map(toOpenAiMessage),
    stream: false,
  };
  return body as unknown as ChatParams;
}

function toOpenAiMessage(message: ChatMessage): OpenAiMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id ?? '', content: message.content };
    case 'assistant': {
      const calls = message.tool_calls ?? [];
      if (calls.length === 0) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // OpenAI wants null, not '', beside tool calls without text.
        content: message.content === '' ? null : message.content,
        tool_calls: calls.map((call) => ({
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: argumentsText(call.arguments) },
        })),
      };
    }
  }
}

/** Tool-call arguments travel as JSON text on the wire. */
export function argumentsText(args: JsonValue): string {
  return typeof args === 'string' ? args : JSON.stringify(args);
}

/** Parsed JSON when the text is JSON, else the text itself (kept, not dropped, so a scorer can say why). */
export function parseArguments(text: string | null | undefined): JsonValue {
  if (text === null || text === undefined || text.trim() === '') return {};
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** Text, tool calls, finish_reason and usage of a Chat Completions answer (first choice). */
export function openAiAnswer(res: OpenAI.Chat.ChatCompletion): ProviderAnswer {
  const choice = res.choices?.[0];
  const toolCalls: ToolCall[] = (choice?.message?.tool_calls ?? []).map((call) =>
    call.type === 'custom'
      ? { id: call.id, name: call.custom.name, arguments: call.custom.input }
      : { id: call.id, name: call.function.name, arguments: parseArguments(call.function.arguments) },
  );
  return {
    // A refusal or a tool call has no text content: that is an empty answer, not a failure.
    output: choice?.message?.content ?? '',
    tokensIn: res.usage?.prompt_tokens ?? 0,
    tokensOut: res.usage?.completion_tokens ?? 0,
    toolCalls: toolCalls.length > 0 ? toolCalls : null,
    finishReason: choice?.finish_reason ?? null,
  };
}
