import { type SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** A prompt: a string (one user message) or chat messages. */
export const PROMPT_SCHEMA: { oneOf: SchemaObject[] } = {
  oneOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      required: ['messages'],
      additionalProperties: false,
      properties: {
        messages: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['role', 'content'],
            properties: {
              role: { type: 'string', enum: ['system', 'user', 'assistant', 'tool'] },
              content: { type: 'string', description: '`{{var}}` placeholders are filled in every message.' },
              tool_call_id: { type: 'string', description: 'Required on `tool` messages: the call they answer.' },
              tool_calls: {
                type: 'array',
                description: '`assistant` messages (few-shot turns): the calls that turn made.',
                items: {
                  type: 'object',
                  required: ['id', 'name'],
                  properties: { id: { type: 'string' }, name: { type: 'string' }, arguments: {} },
                },
              },
            },
          },
        },
      },
    },
  ],
};
