import { type Scorer } from '../scorer';
import { containsScorer } from './contains.scorer';
import { costScorer } from './cost.scorer';
import { exactMatchScorer } from './exact-match.scorer';
import { jsonSchemaScorer } from './json-schema.scorer';
import { jsonValidScorer } from './json-valid.scorer';
import { latencyScorer } from './latency.scorer';
import { lengthScorer } from './length.scorer';
import { type LlmJudgeDeps, LlmJudgeScorer } from './llm-judge.scorer';
import { notContainsScorer } from './not-contains.scorer';
import { numericCloseScorer } from './numeric-close.scorer';
import { regexScorer } from './regex.scorer';
import { similarityScorer } from './similarity.scorer';
import { toolCallScorer } from './tool-call.scorer';

/** Every built-in scorer type, in the order GET /api/scorers lists them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function builtInScorers(judge: LlmJudgeDeps): Scorer<any>[] {
  return [
    exactMatchScorer,
    containsScorer,
    notContainsScorer,
    regexScorer,
    jsonValidScorer,
    jsonSchemaScorer,
    similarityScorer,
    numericCloseScorer,
    lengthScorer,
    latencyScorer,
    costScorer,
    toolCallScorer,
    new LlmJudgeScorer(judge),
  ];
}
