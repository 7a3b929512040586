import { randomBytes } from 'crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { decodeKey, embeddedSecretsKey, SecretBox, SecretBoxError } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));
  const id = '6f1c1f0e-8a52-4c55-9d0e-3f1f2b7a9c11';

  it('round-trips with the same associated data and never shows the plaintext', () => {
    const sealed = box.seal('sk-live-abcdef123456', id);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('sk-live');
    expect(box.open(sealed, id)).toBe('sk-live-abcdef123456');
  });

  it('uses a fresh IV per value: equal plaintexts seal differently', () => {
    const a = box.seal('same', id);
    const b = box.seal('same', id);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
  });

  it('fails on tampering with the ciphertext, the tag or the IV', () => {
    const sealed = box.seal('sk-live-abcdef123456', id);
    const [v, iv, tag, data] = sealed.split('.');
    const flip = (text: string) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[0] ^= 1;
      return bytes.toString('base64url');
    };
    expect(() => box.open([v, iv, tag, flip(data)].join('.'), id)).toThrow(SecretBoxError);
    expect(() => box.open([v, iv, flip(tag), data].join('.'), id)).toThrow(SecretBoxError);
    expect(() => box.open([v, flip(iv), tag, data].join('.'), id)).toThrow(SecretBoxError);
    expect(() => box.open('v2.' + [iv, tag, data].join('.'), id)).toThrow(/unknown format/);
    expect(() => box.open('garbage', id)).toThrow(/unknown format/);
  });

  it('fails with the wrong associated data (a value copied onto another row) or the wrong key', () => {
    const sealed = box.seal('sk-live-abcdef123456', id);
    expect(() => box.open(sealed, 'another-row-id')).toThrow(SecretBoxError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, id)).toThrow(SecretBoxError);
    // The error says nothing about the value.
    expect(() => box.open(sealed, 'x')).toThrow(/^secret could not be decrypted$/);
  });

  it('insists on a 32-byte key in base64 (standard or url-safe)', () => {
    const key = randomBytes(32);
    expect(decodeKey(key.toString('base64')).equals(key)).toBe(true);
    expect(decodeKey(key.toString('base64url')).equals(key)).toBe(true);
    expect(() => decodeKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => decodeKey('not base64!')).toThrow(/base64/);
    expect(() => new SecretBox(randomBytes(31))).toThrow(/32 bytes/);
  });
});

describe('embeddedSecretsKey', () => {
  it('generates a 32-byte key once, mode 0600, and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-key-'));
    try {
      const first = embeddedSecretsKey(join(dir, 'data'));
      expect(decodeKey(first)).toHaveLength(32);
      const file = join(dir, 'data', 'secrets-key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(first);
      expect(embeddedSecretsKey(join(dir, 'data'))).toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
