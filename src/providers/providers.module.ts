import { Module } from '@nestjs/common';
import { AnthropicProvider } from './anthropic.provider';
import { LlmClient } from './llm-client';
import { LlmProvider } from './llm.types';
import { MockEchoProvider } from './mock-echo.provider';
import { ModelsController } from './models.controller';
import { OpenAiProvider } from './openai.provider';
import { PriceTable } from './price-table';
import { LLM_PROVIDERS, ProviderRegistry } from './provider-registry';

/** LLM adapters behind one client. Other modules inject LlmClient (calls) and ProviderRegistry (validation). */
@Module({
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
    LlmClient,
  ],
  exports: [ProviderRegistry, PriceTable, LlmClient],
})
export class ProvidersModule {}
