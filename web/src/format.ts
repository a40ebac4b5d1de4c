// Display helpers: media times, wall-clock times, sizes, durations.
import { formatBytes } from '../../src/util/bytes.js';

/** 83.4 → "1:23.4" */
export function mediaTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  const h = Math.floor(m / 60);
  const mm = h ? String(m % 60).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${rest.toFixed(1).padStart(4, '0')}`;
}

export function clockTime(date: Date | string | number): string {
  return new Date(date).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(date: Date | string | number): string {
  return new Date(date).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return formatBytes(n);
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A stable hue per keyword category, so chips of one category share a colour. */
export function categoryHue(category: string): number {
  let hash = 0;
  for (const ch of category.toLowerCase()) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return hash % 360;
}

export const LANGUAGES: Array<[string, string]> = [
  ['', 'Detect language'],
  ['en', 'English'],
  ['ko', 'Korean'],
  ['ja', 'Japanese'],
  ['zh', 'Chinese'],
  ['de', 'German'],
  ['fr', 'French'],
  ['es', 'Spanish'],
  ['it', 'Italian'],
  ['pt', 'Portuguese'],
  ['ru', 'Russian'],
];
