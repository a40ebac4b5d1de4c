// Scores an utterance's keyword candidates by frequency and position, with what the session has
// already said counting in: a topic that keeps coming back ranks higher in each new utterance.
import type { Candidate } from './candidate.js';

export interface ScoredCandidate {
  text: string;
  key: string;
  category: Candidate['category'] | string;
  score: number;
}

interface SessionEntry {
  text: string;
  category: string;
  count: number;
  weight: number;
  lastUtterance: number;
}

/** Categories that say more than the default ones: preferred when occurrences disagree. */
const SPECIFIC = (c: string) => c !== 'topic' && c !== 'other';

export class KeywordSession {
  private readonly seen = new Map<string, SessionEntry>();
  private utterances = 0;

  /** Utterances scored so far. */
  get length(): number {
    return this.utterances;
  }

  /**
   * Ranks one utterance's candidates and records them. Score = kind weight × (1 + ln tf)
   * × position bonus (up to +50 % for the first word) × session bonus (1 + 0.3 ln(1 + times seen before)).
   */
  score(candidates: readonly Candidate[]): ScoredCandidate[] {
    this.utterances++;
    const lastPosition = Math.max(1, ...candidates.map((c) => c.position));
    const grouped = new Map<string, { first: Candidate; tf: number; weight: number; category: string }>();
    for (const c of candidates) {
      const g = grouped.get(c.key);
      if (!g) {
        grouped.set(c.key, { first: c, tf: 1, weight: c.weight, category: c.category });
        continue;
      }
      g.tf++;
      g.weight = Math.max(g.weight, c.weight);
      if (!SPECIFIC(g.category) && SPECIFIC(c.category)) g.category = c.category;
    }

    const scored: ScoredCandidate[] = [];
    for (const [key, g] of grouped) {
      const before = this.seen.get(key);
      const positionBonus = 1 + 0.5 * (1 - g.first.position / lastPosition);
      const sessionBonus = 1 + 0.3 * Math.log1p(before?.count ?? 0);
      const score = g.weight * (1 + Math.log(g.tf)) * positionBonus * sessionBonus;
      const category = before && SPECIFIC(before.category) && !SPECIFIC(g.category) ? before.category : g.category;
      scored.push({ text: g.first.text, key, category, score: Math.round(score * 1000) / 1000 });
      this.seen.set(key, {
        text: before?.text ?? g.first.text,
        category,
        count: (before?.count ?? 0) + g.tf,
        weight: Math.max(before?.weight ?? 0, g.weight),
        lastUtterance: this.utterances,
      });
    }
    return scored.sort((a, b) => b.score - a.score);
  }

  /** The session's keywords so far: frequent, heavy and recent first. */
  top(n: number): ScoredCandidate[] {
    return [...this.seen.entries()]
      .map(([key, e]) => ({
        text: e.text,
        key,
        category: e.category,
        score: Math.round(e.count * e.weight * 0.95 ** (this.utterances - e.lastUtterance) * 1000) / 1000,
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, n);
  }
}

/** Sessions by id, the least recently used forgotten first, so a long-running server stays bounded. */
export class SessionStore {
  private readonly sessions = new Map<string, KeywordSession>();

  constructor(private readonly maxSessions = 1000) {}

  get(id: string): KeywordSession {
    let s = this.sessions.get(id);
    if (s) {
      this.sessions.delete(id);
    } else {
      s = new KeywordSession();
      if (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    }
    this.sessions.set(id, s);
    return s;
  }

  /** Forget a session (the stream closed). */
  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}
