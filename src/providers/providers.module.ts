import { Module } from '@nestjs/common';
import { ConnectionResolverModule } from '../connections/connections.module';
import { AnthropicProvider } from './anthropic.provider';
import { LlmClient } from './llm-client';
import { LlmProvider } from './llm.types';
import { MockEchoProvider } from './mock-echo.provider';
import { ModelsController } from './models.controller';
import { OpenAiProvider } from './openai.provider';
import { PriceTable } from './price-table';
import { ProjectModels } from './project-models';
import { LLM_PROVIDERS, ProviderRegistry } from './provider-registry';
import { SharedRateLimits } from './shared-rate-limits';

/** LLM adapters behind one client. Other modules inject LlmClient (calls) and ProviderRegistry (validation). */
@Module({
  imports: [ConnectionResolverModule],
  controllers: [ModelsController],
  providers: [
    OpenAiProvider,
    AnthropicProvider,
    MockEchoProvider,
    {
      provide: LLM_PROVIDERS,
      useFactory: (...providers: LlmProvider[]) => providers,
      inject: [OpenAiProvider, AnthropicProvider, MockEchoProvider],
    },
    PriceTable,
    ProviderRegistry,
    ProjectModels,
    SharedRateLimits,
    LlmClient,
  ],
  exports: [ProviderRegistry, PriceTable, LlmClient, ProjectModels],
})
export class ProvidersModule {}
