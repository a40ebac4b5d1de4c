// The hallucination filter: removes segments Whisper made up (known phrases, repetition loops,
// text over silence) and cuts known sign-off phrases off the end of real segments. Used by the
// streaming session for every final, and by batch transcription on whole files.
//
// Rules, in the order they are tried on each segment (the first that fires decides):
//   phrase            — the segment is a known hallucination phrase (lists per language + config)
//   repetition        — one n-gram repeated back to back over most of the segment
//   compression_ratio — the text compresses better than compressionRatioThreshold (2.4)
//   no_speech         — noSpeechProb > 0.6 together with avgLogprob < -1.0 (Whisper's own rule)
//   non_speech_audio  — the VAD heard speech in less than minSpeechRatio of the segment's audio
//   low_logprob       — avgLogprob below minAvgLogprob
//   phrase_trailing   — a known phrase at the end: cut off, the rest kept
// Phrases marked quietOnly ("Thank you.", "you", "감사합니다") fire only when the audio under the
// segment is near-silence (VAD speech ratio below quietSpeechRatio, or RMS below quietRms, or —
// with no audio at all — noSpeechProb at least quietNoSpeechProb).
import { SAMPLE_RATE, type Segment, type Transcript } from '../../engines/types.js';
import { rms } from '../vad/energy.js';
import { SpeechMap } from '../vad/speech-map.js';
import { BUILTIN_PATTERNS, type HallucinationPattern, type PatternWhere } from './phrases.js';
import { FilterStats } from './stats.js';
import { compressionRatio, longestRepetition, normalizeForMatch, normalizePhrase, repetitionTokens } from './text.js';
import type { DroppedSegment, FilterContext, FilterResult, FilterRule } from './types.js';

export interface HallucinationFilterConfig {
  enabled: boolean;
  /** use the built-in Korean/English/universal lists */
  builtins: boolean;
  /** extra phrases per language ('*' = any language); matched whole or trailing */
  phrases: Record<string, string[]>;
  /** extra regular expressions per language ('*' = any), matched against the whole segment, case-insensitive */
  patterns: Record<string, string[]>;
  compressionRatioThreshold: number;
  /** no_speech fires when noSpeechProb > noSpeechThreshold and avgLogprob < logprobThreshold */
  noSpeechThreshold: number;
  logprobThreshold: number;
  /** non_speech_audio fires below this VAD speech ratio over the segment */
  minSpeechRatio: number;
  /** low_logprob fires below this average log-probability */
  minAvgLogprob: number;
  /** repetition: a run this many times in a row (single words need one more) covering at least minRepetitionCoverage */
  minRepeats: number;
  minRepetitionCoverage: number;
  quietSpeechRatio: number;
  quietRms: number;
  quietNoSpeechProb: number;
  /** seconds of audio looked at on each side of a segment (its timestamps are approximate) */
  segmentPadSec: number;
}

export const FILTER_DEFAULTS: HallucinationFilterConfig = {
  enabled: true,
  builtins: true,
  phrases: {},
  patterns: {},
  compressionRatioThreshold: 2.4,
  noSpeechThreshold: 0.6,
  logprobThreshold: -1.0,
  minSpeechRatio: 0.1,
  minAvgLogprob: -2.0,
  minRepeats: 3,
  minRepetitionCoverage: 0.6,
  quietSpeechRatio: 0.3,
  quietRms: 0.005,
  quietNoSpeechProb: 0.4,
  segmentPadSec: 0.25,
};

interface CompiledPattern {
  label: string;
  where: PatternWhere;
  quietOnly: boolean;
  /** normalised phrase, for kind 'phrase' */
  phrase?: string;
  whole?: RegExp;
  trailing?: RegExp;
}

interface Verdict {
  rule: FilterRule;
  pattern?: string;
}

const isUnset = (language: string | undefined) => language === undefined || language === '' || language === 'auto';

export class HallucinationFilter {
  readonly config: HallucinationFilterConfig;
  private readonly compiled = new Map<string, CompiledPattern[]>();

  constructor(
    config: Partial<HallucinationFilterConfig> = {},
    readonly stats: FilterStats = new FilterStats(),
  ) {
    this.config = { ...FILTER_DEFAULTS, ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) };
    const languages = new Set([...Object.keys(BUILTIN_PATTERNS), ...Object.keys(this.config.phrases), ...Object.keys(this.config.patterns)]);
    for (const lang of languages) this.compiled.set(lang, this.compile(lang));
  }

  /** number of patterns in use per language */
  patternCounts(): Record<string, number> {
    return Object.fromEntries([...this.compiled].map(([lang, list]) => [lang, list.length]));
  }

  /**
   * @param options.record false: judge only, count nothing (streaming partials are judged on
   *   every revision; only finals belong in the stats)
   */
  async filter(transcript: Transcript, ctx: FilterContext = {}, options: { record?: boolean } = {}): Promise<FilterResult> {
    const stats = options.record === false ? new FilterStats() : this.stats;
    if (!this.config.enabled || transcript.segments.length === 0) return { transcript, dropped: [] };
    let speech = ctx.speech;
    if (!speech && ctx.audio && ctx.vad) speech = await SpeechMap.compute(ctx.audio, ctx.vad);
    const language = isUnset(ctx.language) ? transcript.language : ctx.language!;
    const patterns = [...(this.compiled.get('*') ?? []), ...(this.compiled.get(language) ?? [])];

    const kept: Segment[] = [];
    const dropped: DroppedSegment[] = [];
    stats.countChecked(transcript.segments.length);
    for (const segment of transcript.segments) {
      if (segment.text.trim() === '') continue; // nothing to show; not a hallucination either
      const quiet = () => this.isQuiet(segment, ctx.audio, speech);
      const verdict = this.judge(segment, patterns, quiet, speech);
      if (verdict) {
        dropped.push({ segmentId: segment.id, rule: verdict.rule, pattern: verdict.pattern, text: segment.text });
        stats.record(verdict.rule, verdict.pattern, false);
        continue;
      }
      // cut off trailing sign-offs, possibly several ("구독과 좋아요 부탁드립니다 시청해주셔서 감사합니다")
      let current = segment;
      for (;;) {
        const cut = this.trailingCut(current, patterns, quiet);
        if (!cut) break;
        dropped.push({ segmentId: segment.id, rule: cut.rule, pattern: cut.pattern, text: cut.removed });
        current = cut.segment;
        if (current.text.trim() === '') break;
        // What is left may itself be a whole sign-off ("Thank you for watching. Please subscribe and like.").
        const whole = this.wholePhrase(current.text, patterns, quiet);
        if (whole) {
          dropped.push({ segmentId: segment.id, rule: 'phrase', pattern: whole, text: current.text.trim() });
          current = { ...current, text: '' };
          break;
        }
      }
      const emptied = normalizePhrase(current.text) === '';
      for (const d of dropped.filter((d) => d.segmentId === segment.id)) stats.record(d.rule, d.pattern, !emptied);
      if (!emptied) kept.push(current);
    }
    if (dropped.length === 0) return { transcript, dropped };
    const text = kept
      .map((s) => s.text.trim())
      .filter(Boolean)
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    return { transcript: { ...transcript, segments: kept, text }, dropped };
  }

  /** The label of a pattern matching the whole text, if any. */
  private wholePhrase(text: string, patterns: CompiledPattern[], quiet: () => boolean): string | undefined {
    const trimmed = text.trim();
    const norm = normalizePhrase(trimmed);
    for (const p of patterns) {
      if (p.where === 'trailing') continue;
      const hit = p.phrase !== undefined ? norm === p.phrase : p.whole!.test(trimmed);
      if (hit && (!p.quietOnly || quiet())) return p.label;
    }
    return undefined;
  }

  private judge(segment: Segment, patterns: CompiledPattern[], quiet: () => boolean, speech?: SpeechMap): Verdict | null {
    const c = this.config;
    const text = segment.text.trim();
    const phrase = this.wholePhrase(text, patterns, quiet);
    if (phrase) return { rule: 'phrase', pattern: phrase };
    const rep = longestRepetition(repetitionTokens(text));
    if (rep && rep.times >= c.minRepeats + (rep.gram.length === 1 ? 1 : 0) && rep.coverage >= c.minRepetitionCoverage) {
      return { rule: 'repetition' };
    }
    const ratio = segment.compressionRatio > 0 ? segment.compressionRatio : compressionRatio(text);
    if (ratio > c.compressionRatioThreshold) return { rule: 'compression_ratio' };
    // Rules on decoder statistics apply only to engines that report them (not Moonshine or CTC).
    const { noSpeechProb, avgLogprob } = segment;
    if (noSpeechProb !== undefined && avgLogprob !== undefined && noSpeechProb > c.noSpeechThreshold && avgLogprob < c.logprobThreshold) {
      return { rule: 'no_speech' };
    }
    if (speech) {
      const r = speech.speechRatio(Math.max(0, segment.start - c.segmentPadSec), segment.end + c.segmentPadSec);
      if (Number.isFinite(r) && r < c.minSpeechRatio) return { rule: 'non_speech_audio' };
    }
    if (avgLogprob !== undefined && avgLogprob < c.minAvgLogprob) return { rule: 'low_logprob' };
    return null;
  }

  private trailingCut(
    segment: Segment,
    patterns: CompiledPattern[],
    quiet: () => boolean,
  ): { segment: Segment; removed: string; rule: FilterRule; pattern: string } | null {
    const text = segment.text.trim();
    const { norm, index } = normalizeForMatch(text);
    for (const p of patterns) {
      if (p.where === 'whole') continue;
      let cutAt = -1;
      if (p.phrase !== undefined) {
        if (p.phrase.length > 0 && norm.length > p.phrase.length && norm.endsWith(p.phrase)) cutAt = index[norm.length - p.phrase.length];
      } else {
        const m = p.trailing!.exec(text);
        if (m && m.index > 0) cutAt = m.index;
      }
      if (cutAt <= 0) continue;
      if (p.quietOnly && !quiet()) continue;
      const kept = text.slice(0, cutAt).trimEnd();
      const removed = text.slice(cutAt).trim();
      return { segment: trimSegment(segment, kept, removed), removed, rule: 'phrase_trailing', pattern: p.label };
    }
    return null;
  }

  private isQuiet(segment: Segment, audio: Float32Array | undefined, speech: SpeechMap | undefined): boolean {
    const c = this.config;
    const from = Math.max(0, segment.start - c.segmentPadSec);
    const to = segment.end + c.segmentPadSec;
    if (speech) {
      const r = speech.speechRatio(from, to);
      if (Number.isFinite(r)) return r < c.quietSpeechRatio;
    }
    if (audio) {
      const a = Math.min(audio.length, Math.floor(from * SAMPLE_RATE));
      const b = Math.min(audio.length, Math.ceil(to * SAMPLE_RATE));
      if (b > a) return rms(audio, a, b) < c.quietRms;
    }
    return segment.noSpeechProb !== undefined && segment.noSpeechProb >= c.quietNoSpeechProb;
  }

  private compile(lang: string): CompiledPattern[] {
    const out: CompiledPattern[] = [];
    const list: HallucinationPattern[] = [
      ...(this.config.builtins ? (BUILTIN_PATTERNS[lang] ?? []) : []),
      ...(this.config.phrases[lang] ?? []).map((text): HallucinationPattern => ({ kind: 'phrase', text, where: 'both' })),
      ...(this.config.patterns[lang] ?? []).map((source): HallucinationPattern => ({ kind: 'regex', source, where: 'whole' })),
    ];
    for (const p of list) {
      if (p.kind === 'phrase') {
        const phrase = normalizePhrase(p.text);
        if (phrase) out.push({ label: `${lang}:${p.text}`, where: p.where, quietOnly: !!p.quietOnly, phrase });
      } else {
        try {
          out.push({
            label: `${lang}:${p.label ?? p.source}`,
            where: p.where,
            quietOnly: !!p.quietOnly,
            whole: new RegExp(`^(?:${p.source})$`, 'iu'),
            trailing: new RegExp(`(?:${p.source})$`, 'iu'),
          });
        } catch (err) {
          throw new Error(`hallucination filter: bad pattern for "${lang}": ${p.source}: ${(err as Error).message}`);
        }
      }
    }
    return out;
  }
}

/** The segment with its text cut to `kept`, its words and end time following. */
function trimSegment(segment: Segment, kept: string, removed: string): Segment {
  const out: Segment = { ...segment, text: kept };
  if (segment.words && segment.words.length > 0) {
    let toRemove = normalizePhrase(removed).length;
    const words = [...segment.words];
    while (words.length > 0 && toRemove > 0) toRemove -= normalizePhrase(words.pop()!.word).length;
    out.words = words;
    if (words.length > 0) out.end = Math.max(out.start, words[words.length - 1].end);
  }
  return out;
}

let defaultFilter: HallucinationFilter | undefined;

/** Filters with the default configuration (shared stats) unless a filter is given. */
export function filterTranscript(transcript: Transcript, ctx: FilterContext = {}, filter?: HallucinationFilter): Promise<FilterResult> {
  defaultFilter ??= new HallucinationFilter();
  return (filter ?? defaultFilter).filter(transcript, ctx);
}
