// SRT and WebVTT writers over one Transcript: cues follow segments, long ones are split at
// word boundaries (word timestamps when present), lines wrapped, empty cues never written.
import type { Segment, Transcript } from '../engines/types.js';

export interface CueOptions {
  /** characters per line */
  maxLineLength?: number;
  /** lines per cue */
  maxLines?: number;
}

export interface Cue {
  start: number;
  end: number;
  lines: string[];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (VTT) */
export function formatTimestamp(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = Math.floor((totalMs % 60_000) / 1000);
  const ms = totalMs % 1000;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${separator}${pad(ms, 3)}`;
}

function wrap(text: string, maxLineLength: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > maxLineLength) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Splits one segment into cues of at most maxLines wrapped lines, timing each piece. */
function segmentCues(segment: Segment, maxLineLength: number, maxLines: number): Cue[] {
  const text = segment.text.trim();
  if (!text) return [];
  const lines = wrap(text, maxLineLength);
  if (lines.length <= maxLines) return [{ start: segment.start, end: segment.end, lines }];
  const chunks: string[][] = [];
  for (let i = 0; i < lines.length; i += maxLines) chunks.push(lines.slice(i, i + maxLines));
  const words = segment.words?.filter((w) => w.word.trim()) ?? [];
  const totalChars = text.replace(/\s+/g, ' ').length;
  const cues: Cue[] = [];
  let wordIndex = 0;
  let charsSoFar = 0;
  let start = segment.start;
  for (const chunk of chunks) {
    const chunkText = chunk.join(' ');
    const chunkWords = chunkText.split(' ').length;
    let end: number;
    if (words.length > 0 && wordIndex + chunkWords - 1 < words.length) {
      end = words[wordIndex + chunkWords - 1]!.end;
      wordIndex += chunkWords;
    } else {
      // No word times: share the segment's time by characters.
      charsSoFar += chunkText.length + 1;
      end = segment.start + ((segment.end - segment.start) * Math.min(charsSoFar, totalChars)) / totalChars;
    }
    end = Math.min(Math.max(end, start), segment.end);
    cues.push({ start, end, lines: chunk });
    start = end;
  }
  cues[cues.length - 1]!.end = segment.end;
  return cues;
}

export function buildCues(transcript: Transcript, opts: CueOptions = {}): Cue[] {
  const maxLineLength = opts.maxLineLength ?? 42;
  const maxLines = opts.maxLines ?? 2;
  return transcript.segments.flatMap((s) => segmentCues(s, maxLineLength, maxLines)).filter((c) => c.lines.length > 0 && c.end >= c.start);
}

export function toSrt(transcript: Transcript, opts?: CueOptions): string {
  return buildCues(transcript, opts)
    .map((cue, i) => `${i + 1}\n${formatTimestamp(cue.start, ',')} --> ${formatTimestamp(cue.end, ',')}\n${cue.lines.join('\n')}\n`)
    .join('\n');
}

export function toVtt(transcript: Transcript, opts?: CueOptions): string {
  // "-->" may not appear in a VTT cue payload.
  const body = buildCues(transcript, opts)
    .map((cue) => `${formatTimestamp(cue.start, '.')} --> ${formatTimestamp(cue.end, '.')}\n${cue.lines.join('\n').replace(/-->/g, '->')}\n`)
    .join('\n');
  return `WEBVTT\n\n${body}`;
}
