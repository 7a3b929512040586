import { createHash } from 'crypto';
import { DomainError, ErrorCode } from '../common/domain-error';
import { configKey, resolveConfigKey } from './config-key';

const errorOf = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
};

describe('configKey', () => {
  it('is the SHA-256 of the RFC 8785 text of {prompt, model, params}', () => {
    const text = '{"model":"mock:echo","params":{"max_tokens":256,"temperature":0.7},"prompt":"Hi {{x}}"}';
    const expected = createHash('sha256').update(text, 'utf8').digest('hex');
    expect(configKey({ prompt: 'Hi {{x}}', model: 'mock:echo', params: { temperature: 0.7, max_tokens: 256 } })).toBe(
      expected,
    );
  });

  it('keeps omitted dimensions as null, so a partial group never collides with a full configuration', () => {
    const partial = configKey({ prompt: null, model: 'mock:echo', params: null });
    expect(partial).toBe(
      createHash('sha256').update('{"model":"mock:echo","params":null,"prompt":null}').digest('hex'),
    );
    expect(partial).not.toBe(configKey({ prompt: null, model: 'mock:echo', params: {} }));
  });
});

describe('resolveConfigKey', () => {
  const keys = [
    'abcdef0123456789' + '0'.repeat(48),
    'abcdef0199999999' + '0'.repeat(48),
    '1234567800000000' + '0'.repeat(48),
  ];

  it('accepts a full key or a unique prefix of at least 8 hex digits, in either case', () => {
    expect(resolveConfigKey(keys[2], keys, 'a')).toBe(keys[2]);
    expect(resolveConfigKey('12345678', keys, 'a')).toBe(keys[2]);
    expect(resolveConfigKey('ABCDEF0123', keys, 'a')).toBe(keys[0]);
  });

  it('rejects an ambiguous prefix with 400 and an unknown one with 404', () => {
    const ambiguous = errorOf(() => resolveConfigKey('abcdef01', keys, 'b'));
    expect(ambiguous.code).toBe(ErrorCode.Invalid);
    expect(ambiguous.message).toMatch(/b=abcdef01 is ambiguous: it is a prefix of 2/);
    expect(errorOf(() => resolveConfigKey('ffffffff', keys, 'a')).code).toBe(ErrorCode.NotFound);
  });

  it('rejects prefixes that are too short or not hex with 400', () => {
    expect(errorOf(() => resolveConfigKey('1234567', keys, 'a')).code).toBe(ErrorCode.Invalid);
    expect(errorOf(() => resolveConfigKey('1234567z', keys, 'a')).code).toBe(ErrorCode.Invalid);
    expect(errorOf(() => resolveConfigKey('1'.repeat(65), keys, 'a')).code).toBe(ErrorCode.Invalid);
  });
});
