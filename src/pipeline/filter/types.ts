import type { Transcript } from '../../engines/types.js';
import type { SpeechMap } from '../vad/speech-map.js';
import type { VadDetector } from '../vad/types.js';

export type FilterRule =
  | 'phrase' // a known hallucination, the whole segment
  | 'phrase_trailing' // a known hallucination at the end of a segment (cut off, the rest kept)
  | 'compression_ratio' // repetition loop: text compresses too well
  | 'repetition' // repetition loop: the same n-gram over and over
  | 'no_speech' // the decoder itself thought there was no speech and was unsure of its text
  | 'non_speech_audio' // the VAD heard (almost) no speech under the segment
  | 'low_logprob'; // very low average log-probability

export interface DroppedSegment {
  segmentId: number;
  rule: FilterRule;
  /** the phrase/regex label, for phrase rules */
  pattern?: string;
  /** the text removed */
  text: string;
}

export interface FilterContext {
  /** the audio the transcript was decoded from (16 kHz mono), times in the transcript refer to it */
  audio?: Float32Array;
  /** a detector to compute the speech map with when none is given (reset before and after use) */
  vad?: VadDetector;
  /** per-frame speech probabilities over `audio` (the streaming session already has them) */
  speech?: SpeechMap;
  /** requested language; 'auto'/undefined: the transcript's detected one */
  language?: string;
}

export interface FilterResult {
  transcript: Transcript;
  dropped: DroppedSegment[];
}
