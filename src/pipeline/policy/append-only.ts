// Append-only transcript text for interfaces whose clients concatenate what they receive (Wyoming
// transcript-chunk, OpenAI Realtime transcription deltas). Only committed words go out — words two
// consecutive partial decodes agreed on, which never change — so nothing sent is ever retracted.
// Tentative words are never sent. When the final decode arrives it supplies the rest: the committed
// words are aligned to the final's words (word edit distance, case and punctuation ignored) and only
// the final's words after the last committed one are appended. The concatenation of all deltas is
// therefore exactly the transcript reported at the end.

const norm = (w: string) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Number of final words the committed words cover: argmin over j of editDistance(committed, final[0:j]), later j on ties. */
export function alignedPrefix(committed: string[], final: string[]): number {
  const c = committed.map(norm);
  const f = final.map(norm);
  if (c.length === 0) return 0;
  let prev = Array.from({ length: f.length + 1 }, (_, j) => j);
  for (let i = 1; i <= c.length; i++) {
    const row = [i];
    for (let j = 1; j <= f.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (c[i - 1] === f[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  let best = 0;
  for (let j = 1; j <= f.length; j++) if (prev[j]! <= prev[best]!) best = j;
  return best;
}

/** One item's text (a Wyoming transcription, a Realtime conversation item), fed by one or more utterances. */
export class AppendOnlyTranscript {
  private text = '';
  /** committed words already sent, per utterance still open */
  private readonly sent = new Map<number, string[]>();

  /** everything sent so far */
  get value(): string {
    return this.text;
  }

  /** A partial's committed text; returns the delta to send ('' when nothing new). */
  partial(utteranceId: number, committed: string): string {
    const now = words(committed);
    const before = this.sent.get(utteranceId) ?? [];
    // committed text only grows; anything else (a new decode that disagrees) waits for the final
    if (now.length <= before.length || !before.every((w, i) => w === now[i])) return '';
    this.sent.set(utteranceId, now);
    return this.append(now.slice(before.length));
  }

  /** The utterance's final text; returns the delta that completes it. */
  final(utteranceId: number, text: string): string {
    const before = this.sent.get(utteranceId) ?? [];
    this.sent.delete(utteranceId);
    const all = words(text);
    return this.append(all.slice(alignedPrefix(before, all)));
  }

  /** The utterance ended without text (silence, filtered): what was committed stands. */
  end(utteranceId: number): void {
    this.sent.delete(utteranceId);
  }

  private append(newWords: string[]): string {
    if (newWords.length === 0) return '';
    const delta = (this.text === '' ? '' : ' ') + newWords.join(' ');
    this.text += delta;
    return delta;
  }
}
