import { randomUUID } from 'crypto';
import { type DataSource } from 'typeorm';
import { SecretBox } from '../../src/security/secret-box';
import { secretAad } from '../../src/webhooks/webhook-deliverer';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signature';
import { TEST_SECRETS_KEY } from './app';

/** A subscription straight into PostgreSQL, its secret sealed with the test SECRETS_KEY (for suites without HTTP). */
export async function insertSubscription(
  ds: DataSource,
  projectId: string,
  url: string,
  events: string[],
): Promise<{ id: string; secret: string }> {
  const id = randomUUID();
  const secret = generateWebhookSecret();
  const sealed = SecretBox.fromBase64(TEST_SECRETS_KEY).seal(secret, secretAad(id));
  await ds.query(
    `INSERT INTO webhook_subscriptions (id, project_id, url, events, secret_encrypted) VALUES ($1, $2, $3, $4, $5)`,
    [id, projectId, url, events, sealed],
  );
  return { id, secret };
}

export interface AttemptRow {
  attempt: number;
  status_code: number | null;
  error: string | null;
  delivery_status: string;
  event_id: string;
}

/** The delivery log of a subscription, oldest attempt first. */
export async function attemptsOf(ds: DataSource, subscriptionId: string): Promise<AttemptRow[]> {
  return ds.query(
    `SELECT a.attempt, a.status_code, a.error, d.status AS delivery_status, d.event_id
       FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
      WHERE a.subscription_id = $1 ORDER BY a.created_at, a.attempt`,
    [subscriptionId],
  );
}
