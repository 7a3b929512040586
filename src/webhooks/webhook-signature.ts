import { randomBytes } from 'crypto';
import { Webhook } from 'standardwebhooks';

export const SECRET_PREFIX = 'whsec_';
/** Random bytes behind each secret (the specification asks for 24 to 64). */
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/**
 * The three Standard Webhooks headers of one attempt. `secrets` are the signing secrets in force
 * (the current one, and the previous one during a rotation's overlap): the signature header then
 * carries one space-separated `v1,<base64>` entry per secret, each an HMAC-SHA256 of
 * `<id>.<timestamp>.<body>` keyed with the base64-decoded part after `whsec_`.
 */
export function webhookHeaders(
  eventId: string,
  body: string,
  secrets: string[],
  at: Date = new Date(),
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  if (secrets.length === 0) throw new Error('a webhook needs at least one signing secret');
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(eventId, timestamp, body)).join(' '),
  };
}
