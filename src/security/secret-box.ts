import { createCipheriv, createDecipheriv, randomBytes } from 'crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';

/**
 * Encryption at rest for secrets we must give back to a provider (connection API keys, webhook
 * signing secrets): AES-256-GCM, a random 12-byte IV per value, and associated data binding the
 * ciphertext to its row (so a value copied onto another row does not decrypt). Sealed form:
 * `v1.<iv b64url>.<tag b64url>.<ciphertext b64url>` — one text column, self-describing.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** Decryption failed: wrong key, wrong associated data, or a tampered value. Says nothing else. */
export class SecretBoxError extends Error {
  constructor(message = 'secret could not be decrypted') {
    super(message);
    this.name = 'SecretBoxError';
  }
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new SecretBoxError(`secret key must be ${SECRET_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
  }

  /** From base64 (standard or url-safe), as SECRETS_KEY is given. */
  static fromBase64(encoded: string): SecretBox {
    return new SecretBox(decodeKey(encoded));
  }

  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  open(sealed: string, associatedData: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('secret has an unknown format');
    const [, ivText, tagText, dataText] = parts;
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('secret has an unknown format');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(dataText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError();
    }
  }
}

/** Decodes a base64 key and insists on exactly 32 bytes. */
export function decodeKey(encoded: string): Buffer {
  const trimmed = encoded.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new SecretBoxError('secret key must be base64');
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== SECRET_KEY_BYTES) throw new SecretBoxError(`secret key must decode to ${SECRET_KEY_BYTES} bytes`);
  return key;
}

/**
 * Embedded mode: the key is generated once into the data directory (`secrets-key`, mode 0600),
 * like the JWT secret, and read back on later starts. Returns it base64-encoded.
 */
export function embeddedSecretsKey(dataDir: string): string {
  const root = resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const file = join(root, 'secrets-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(SECRET_KEY_BYTES).toString('base64');
  try {
    writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw error;
  }
  chmodSync(file, 0o600);
  return key;
}
