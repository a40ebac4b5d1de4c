// LocalAgreement-2: the streaming commit policy of Macháček et al. (whisper_streaming), for one
// growing utterance that is re-decoded from its start each time.
//
// After each decode, the longest prefix on which the two most recent hypotheses agree (compared
// word by word in normalised form: case, punctuation and spacing ignored) is committed. Committed
// words never change again, even if a later hypothesis disagrees; the part of the newest
// hypothesis after the committed words is the tentative tail.
//
// Re-decodes may disagree with what was committed (Whisper sometimes rewrites the start of an
// utterance). The newest hypothesis is then lined up against the committed words by their last
// few words, or failing that by time, and only what follows them counts.
import { joinWords, normalizeWord, type PolicyWord } from './words.js';

export interface AgreementState {
  committed: PolicyWord[];
  tentative: PolicyWord[];
  /** words committed by this update */
  newlyCommitted: PolicyWord[];
  committedText: string;
  tentativeText: string;
}

/** how many of the last committed words must reappear to line a rewritten hypothesis up */
const ANCHOR_WORDS = 2;
/** how far (in words) from the expected place an anchor may be found */
const ANCHOR_SLACK = 3;

export class LocalAgreement {
  private committed: PolicyWord[] = [];
  private previousHypothesis: PolicyWord[] | null = null;

  get committedWords(): readonly PolicyWord[] {
    return this.committed;
  }

  /** Feeds the newest full hypothesis of the utterance (words from its start). */
  update(hypothesis: PolicyWord[]): AgreementState {
    const tail = this.uncommittedPart(hypothesis);
    const previous = this.previousHypothesis ? this.uncommittedPart(this.previousHypothesis) : null;
    let agreed = 0;
    if (previous) {
      while (agreed < tail.length && agreed < previous.length && normalizeWord(tail[agreed].word) === normalizeWord(previous[agreed].word)) {
        agreed++;
      }
    }
    const newlyCommitted = tail.slice(0, agreed);
    this.committed.push(...newlyCommitted);
    this.previousHypothesis = hypothesis;
    const tentative = tail.slice(agreed);
    return {
      committed: [...this.committed],
      tentative,
      newlyCommitted,
      committedText: joinWords(this.committed),
      tentativeText: joinWords(tentative),
    };
  }

  reset(): void {
    this.committed = [];
    this.previousHypothesis = null;
  }

  /** The words of `hypothesis` that come after the committed ones. */
  uncommittedPart(hypothesis: PolicyWord[]): PolicyWord[] {
    const c = this.committed.length;
    if (c === 0) return hypothesis;
    const norm = hypothesis.map((w) => normalizeWord(w.word));
    const committedNorm = this.committed.map((w) => normalizeWord(w.word));
    // 1. the usual case: the hypothesis starts with the committed words
    if (norm.length >= c && committedNorm.every((w, i) => w === norm[i])) return hypothesis.slice(c);
    // 2. rewritten start: find the last committed words near where they should be
    const k = Math.min(ANCHOR_WORDS, c);
    const anchor = committedNorm.slice(c - k);
    let best = -1;
    for (let d = 0; d <= ANCHOR_SLACK && best < 0; d++) {
      for (const j of d === 0 ? [c] : [c - d, c + d]) {
        if (j - k < 0 || j > norm.length) continue;
        if (anchor.every((w, i) => w === norm[j - k + i])) {
          best = j;
          break;
        }
      }
    }
    if (best >= 0) return hypothesis.slice(best);
    // 3. by time: words that begin after the last committed word ended
    const lastEnd = this.committed[c - 1].end;
    if (Number.isFinite(lastEnd) && hypothesis.every((w) => Number.isFinite(w.start))) {
      const at = hypothesis.findIndex((w) => (w.start + w.end) / 2 >= lastEnd);
      return at < 0 ? [] : hypothesis.slice(at);
    }
    // 4. no way to line them up: assume the same number of words
    return hypothesis.slice(Math.min(c, hypothesis.length));
  }
}
