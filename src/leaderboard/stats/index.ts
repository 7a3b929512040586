export type { Interval } from './descriptive-stats';
export { mean, meanCi95, pairwiseSum, sampleStdDev, tQuantile } from './descriptive-stats';
export type { PairedTTestResult } from './paired-t-test';
export { differences, pairedTTest } from './paired-t-test';
export type { WilcoxonMethod, WilcoxonResult } from './wilcoxon-signed-rank';
export { signedRankNullCounts, wilcoxonSignedRank } from './wilcoxon-signed-rank';
