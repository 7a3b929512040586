import { type LookupFunction } from 'net';

/**
 * Encrypts signing secrets at rest (they must be recoverable to sign): the project's SecretBox
 * (AES-256-GCM under SECRETS_KEY). `associatedData` binds a sealed value to its row.
 */
export abstract class WebhookSecretCipher {
  abstract seal(plaintext: string, associatedData: string): string;
  abstract open(sealed: string, associatedData: string): string;
}

/**
 * The SSRF policy for webhook URLs (loopback, private, link-local and metadata addresses refused
 * unless ALLOW_PRIVATE_URLS=true): the project's UrlPolicy. Its errors are 400-mapped domain errors.
 */
export abstract class WebhookUrlPolicy {
  /** On the URL's text (scheme, credentials, literal host), when a subscription is written; throws. */
  abstract checkUrl(raw: string, field?: string): URL;
  /** At delivery time: every address the host resolves to must be allowed; throws. */
  abstract checkResolved(raw: string, field?: string): Promise<unknown>;
  /** A socket lookup that resolves through the same checks, so what is checked is what is connected to. */
  abstract readonly lookup: LookupFunction;
}
