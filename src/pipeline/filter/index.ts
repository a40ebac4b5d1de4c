export { HallucinationFilter, filterTranscript, FILTER_DEFAULTS, type HallucinationFilterConfig } from './filter.js';
export { FilterStats, type FilterStatsSnapshot } from './stats.js';
export { BUILTIN_PATTERNS, ENGLISH_PATTERNS, KOREAN_PATTERNS, UNIVERSAL_PATTERNS, builtinPatternCount, type HallucinationPattern } from './phrases.js';
export { compressionRatio, longestRepetition, normalizeForMatch, normalizePhrase, repetitionTokens } from './text.js';
export type { DroppedSegment, FilterContext, FilterResult, FilterRule } from './types.js';
