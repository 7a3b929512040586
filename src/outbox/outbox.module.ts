import { Module } from '@nestjs/common';
import { OutboxRepository } from './outbox.repository';
import { OutboxWriter } from './outbox.writer';

/**
 * The transactional outbox (`outbox_events`): `OutboxWriter.append(manager, …)` for modules that
 * emit events, `OutboxRepository` for the relay that delivers them. Depends on nothing but TypeORM,
 * so any module can import it without a folder cycle.
 */
@Module({ providers: [OutboxWriter, OutboxRepository], exports: [OutboxWriter, OutboxRepository] })
export class OutboxModule {}
