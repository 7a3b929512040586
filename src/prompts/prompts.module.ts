import { Module } from '@nestjs/common';
import { OutboxModule } from '../outbox/outbox.module';
import { PromptsController } from './prompts.controller';
import { PromptsRepository } from './prompts.repository';
import { PromptsService } from './prompts.service';

/**
 * The prompt registry: owns `prompts`, `prompt_versions` and `prompt_labels`. Experiments resolve
 * `{"ref": "name@label|version"}` through `PromptsService` when they are created.
 */
@Module({
  imports: [OutboxModule],
  controllers: [PromptsController],
  providers: [PromptsRepository, PromptsService],
  exports: [PromptsService],
})
export class PromptsModule {}
