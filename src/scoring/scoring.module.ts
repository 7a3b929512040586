import { Module } from '@nestjs/common';
import { LlmClient } from '../providers/llm-client';
import { ProvidersModule } from '../providers/providers.module';
import { RunRepositoryModule } from '../runs/run-repository.module';
import { PgJudgeCache } from './pg-judge-cache';
import { ScorerRegistry } from './scorer-registry';
import { builtInScorers } from './scorers/built-in-scorers';
import { JudgeLlmClient } from './scorers/llm-judge.scorer';
import { ScorersController } from './scorers.controller';
import { ScoreReadModel } from './score-read-model';
import { ScoringService } from './scoring.service';

/** The client llm_judge calls (LlmClient; tests may override this token). */
export const JUDGE_LLM_CLIENT = Symbol('JUDGE_LLM_CLIENT');

/** Scorer types, automatic and human scores, GET /api/scorers. Other modules use ScoringService. */
@Module({
  imports: [ProvidersModule, RunRepositoryModule],
  controllers: [ScorersController],
  providers: [
    { provide: JUDGE_LLM_CLIENT, useExisting: LlmClient },
    PgJudgeCache,
    {
      provide: ScorerRegistry,
      useFactory: (llm: JudgeLlmClient, cache: PgJudgeCache) => new ScorerRegistry(builtInScorers({ llm, cache })),
      inject: [JUDGE_LLM_CLIENT, PgJudgeCache],
    },
    ScoreReadModel,
    ScoringService,
  ],
  exports: [ScoringService, ScoreReadModel],
})
export class ScoringModule {}
