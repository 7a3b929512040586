import { createHmac } from 'crypto';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, webhookHeaders } from './webhook-signature';
import { retryDelayMs } from './webhooks.constants';

function hmac(secret: string, content: string): string {
  return createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(content)
    .digest('base64');
}

describe('webhook signatures', () => {
  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it('signs "<id>.<timestamp>.<body>" with HMAC-SHA256 keyed by the decoded secret', () => {
    const secret = generateWebhookSecret();
    const body = '{"type":"ping","timestamp":"2026-01-01T00:00:00.000Z","data":{}}';
    const headers = webhookHeaders('msg_1', body, [secret], new Date(1_767_225_600_500));
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-timestamp']).toBe('1767225600');
    expect(headers['webhook-signature']).toBe(`v1,${hmac(secret, `msg_1.1767225600.${body}`)}`);
  });

  it('carries one v1 entry per secret during a rotation, each verifying on its own', () => {
    const [current, previous] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = '{"a":1}';
    const headers = webhookHeaders('evt', body, [current, previous]);
    const entries = headers['webhook-signature'].split(' ');
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.startsWith('v1,'))).toBe(true);
    expect(() => new Webhook(current).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(previous).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });
});

describe('retry delays', () => {
  it('follow 5 s, 1 min, 10 min, 1 h, 6 h, 24 h at the default base, then stop', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, 5000, none))).toEqual([
      5_000, 60_000, 600_000, 3_600_000, 21_600_000, 86_400_000,
    ]);
    expect(retryDelayMs(7, 5000, none)).toBeNull();
    expect(retryDelayMs(1, 5000, () => 1)).toBe(5500);
  });
});
