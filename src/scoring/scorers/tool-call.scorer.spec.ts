import { type ToolCall } from '../../providers/llm.types';
import { scoreContext } from './score-context.fixture';
import { jsonSchemaScorer } from './json-schema.scorer';
import { jsonValidScorer } from './json-valid.scorer';
import { jsonSubset, type ToolCallParams, toolCallScorer } from './tool-call.scorer';

const calls: ToolCall[] = [
  { id: 'c0', name: 'search', arguments: { q: 'refund policy', filters: { lang: 'en', limit: 5 }, tags: ['a', 'b'] } },
  { id: 'c1', name: 'get_weather', arguments: { city: 'Paris', unit: 'C' } },
  { id: 'c2', name: 'get_weather', arguments: { city: 'Oslo' } },
  { id: 'c3', name: 'broken', arguments: '{city: Paris' },
];
const score = (params: ToolCallParams, toolCalls: ToolCall[] | null = calls) =>
  toolCallScorer.score(scoreContext('', { toolCalls }), params);

describe('tool_call scorer', () => {
  it('with a name only, scores whether that tool was called', async () => {
    await expect(score({ name: 'get_weather' })).resolves.toEqual({
      value: 1,
      metadata: { called: ['search', 'get_weather', 'get_weather', 'broken'], matched_call_id: 'c1' },
    });
    await expect(score({ name: 'send_email' })).resolves.toMatchObject({
      value: 0,
      metadata: { reason: 'no call of "send_email"' },
    });
    await expect(score({ name: 'search' }, null)).resolves.toMatchObject({ value: 0, metadata: { called: [] } });
  });

  it('subset (default): every given key present with an equal value, in any call of the tool', async () => {
    await expect(score({ name: 'get_weather', arguments: { city: 'Oslo' } })).resolves.toMatchObject({
      value: 1,
      metadata: { match: 'subset', matched_call_id: 'c2' },
    });
    await expect(score({ name: 'get_weather', arguments: { city: 'Rome' } })).resolves.toMatchObject({
      value: 0,
      metadata: { arguments_seen: ['{"city":"Paris","unit":"C"}', '{"city":"Oslo"}'] },
    });
    // Nested objects are compared as subsets too; arrays must be equal.
    await expect(score({ name: 'search', arguments: { filters: { lang: 'en' } } })).resolves.toMatchObject({
      value: 1,
    });
    await expect(score({ name: 'search', arguments: { tags: ['a'] } })).resolves.toMatchObject({ value: 0 });
    await expect(score({ name: 'search', arguments: { tags: ['a', 'b'] } })).resolves.toMatchObject({ value: 1 });
    // The same keys with the wrong name never match.
    await expect(score({ name: 'search', arguments: { city: 'Oslo' } })).resolves.toMatchObject({ value: 0 });
  });

  it('exact: the whole arguments equal, key order aside', async () => {
    const exact = (args: unknown) => score({ name: 'get_weather', arguments: args, match: 'exact' });
    await expect(exact({ unit: 'C', city: 'Paris' })).resolves.toMatchObject({
      value: 1,
      metadata: { matched_call_id: 'c1' },
    });
    await expect(exact({ city: 'Paris' })).resolves.toMatchObject({ value: 0 });
    await expect(exact({ city: 'Oslo' })).resolves.toMatchObject({ value: 1, metadata: { matched_call_id: 'c2' } });
  });

  it('never matches arguments that were not JSON, unless the very text is expected exactly', async () => {
    await expect(score({ name: 'broken', arguments: { city: 'Paris' } })).resolves.toMatchObject({ value: 0 });
    await expect(score({ name: 'broken', arguments: '{city: Paris', match: 'exact' })).resolves.toMatchObject({
      value: 1,
    });
  });

  it('jsonSubset compares numbers as JSON numbers and requires the key to exist', () => {
    expect(jsonSubset({ n: 1 }, { n: 1.0, m: 2 })).toBe(true);
    expect(jsonSubset({ n: null }, {})).toBe(false);
    expect(jsonSubset({ n: null }, { n: null })).toBe(true);
    expect(jsonSubset({}, { anything: 1 })).toBe(true);
    expect(jsonSubset({ a: 1 }, [1])).toBe(false);
  });
});

describe('json_valid / json_schema on a tool call (structured output through a tool)', () => {
  const ctx = scoreContext('not json', { toolCalls: calls });
  const schema = { type: 'object', required: ['city'], properties: { city: { type: 'string' } } };

  it('check the named call instead of the text output', async () => {
    await expect(jsonValidScorer.score(ctx, { tool_call: 'get_weather' })).resolves.toMatchObject({ value: 1 });
    await expect(jsonValidScorer.score(ctx, {})).resolves.toMatchObject({ value: 0 });
    await expect(jsonSchemaScorer.score(ctx, { schema, tool_call: 'get_weather' })).resolves.toMatchObject({
      value: 1,
      metadata: { conforms: true },
    });
    await expect(jsonSchemaScorer.score(ctx, { schema, tool_call: 'search' })).resolves.toMatchObject({
      value: 0,
      metadata: { valid_json: true, conforms: false },
    });
  });

  it('score 0 with the reason when the call is missing or its arguments are not JSON', async () => {
    await expect(jsonValidScorer.score(ctx, { tool_call: 'nope' })).resolves.toMatchObject({
      value: 0,
      metadata: { error: 'no call of "nope"' },
    });
    await expect(jsonValidScorer.score(ctx, { tool_call: 'broken' })).resolves.toMatchObject({ value: 0 });
    await expect(jsonSchemaScorer.score(ctx, { schema, tool_call: 'broken' })).resolves.toMatchObject({
      value: 0,
      metadata: { valid_json: false },
    });
  });
});
