// Turns a model's answer into keywords: finds the JSON (json-repair.ts), validates it with zod,
// accepts the shapes models actually write, and maps their category names onto the configured list.
import { z } from 'zod';
import { extractJson } from './json-repair.js';

export interface RawKeyword {
  text: string;
  /** a configured category, or null when the model gave none we could map */
  category: string | null;
}

export class InvalidOutputError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'InvalidOutputError';
  }
}

const TEXT_KEYS = ['text', 'keyword', 'word', 'term', 'name', 'value', 'entity'] as const;
const CATEGORY_KEYS = ['category', 'type', 'label', 'class', 'kind'] as const;

const keywordObject = z.record(z.string(), z.unknown());
const keywordItem = z.union([z.string(), keywordObject]);
const answerObject = z
  .object({
    keywords: z.array(keywordItem).optional(),
    categories: z.array(z.unknown()).optional(),
  })
  .loose();

/** Names models use for the default categories, English and Korean. */
const CATEGORY_ALIASES: Record<string, string> = {
  people: 'person',
  persons: 'person',
  name: 'person',
  per: 'person',
  인물: 'person',
  사람: 'person',
  이름: 'person',
  location: 'place',
  loc: 'place',
  gpe: 'place',
  city: 'place',
  country: 'place',
  장소: 'place',
  지역: 'place',
  지명: 'place',
  org: 'organization',
  organisation: 'organization',
  company: 'organization',
  institution: 'organization',
  조직: 'organization',
  기관: 'organization',
  회사: 'organization',
  단체: 'organization',
  brand: 'product',
  제품: 'product',
  상품: 'product',
  date: 'date_time',
  time: 'date_time',
  datetime: 'date_time',
  'date/time': 'date_time',
  'date-time': 'date_time',
  날짜: 'date_time',
  시간: 'date_time',
  일시: 'date_time',
  subject: 'topic',
  concept: 'topic',
  theme: 'topic',
  주제: 'topic',
  개념: 'topic',
  misc: 'other',
  miscellaneous: 'other',
  기타: 'other',
};

/** Maps a model's category onto the configured list; null if it cannot be placed. */
export function mapCategory(raw: unknown, categories: readonly string[]): string | null {
  if (typeof raw !== 'string') return null;
  const key = raw.trim().toLowerCase().replace(/\s+/g, '_');
  if (!key) return null;
  const exact = categories.find((c) => c.toLowerCase() === key);
  if (exact) return exact;
  const alias = CATEGORY_ALIASES[key] ?? CATEGORY_ALIASES[key.replace(/_/g, ' ')];
  if (alias && categories.includes(alias)) return alias;
  return null;
}

function firstString(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (typeof o[k] === 'string') return o[k] as string;
  return undefined;
}

/** `{"person": ["김민수"], "place": ["서울"]}`: a category-keyed map instead of a list. */
function fromCategoryMap(o: Record<string, unknown>, categories: readonly string[]): RawKeyword[] | undefined {
  const out: RawKeyword[] = [];
  for (const [k, v] of Object.entries(o)) {
    const category = mapCategory(k, categories);
    if (!category || !Array.isArray(v)) continue;
    for (const t of v) if (typeof t === 'string') out.push({ text: t, category });
  }
  return out.length ? out : undefined;
}

function normalizeItems(items: unknown[], parallelCategories: unknown[] | undefined, categories: readonly string[]): RawKeyword[] {
  // ["서울", "회의"] with categories ["place", "topic"] of the same length: a zipped pair of lists
  const zipped = parallelCategories && parallelCategories.length === items.length && items.every((i) => typeof i === 'string');
  const out: RawKeyword[] = [];
  items.forEach((item, i) => {
    const parsed = keywordItem.safeParse(item);
    if (!parsed.success) return;
    const value = parsed.data;
    if (typeof value === 'string') {
      out.push({ text: value, category: zipped ? mapCategory(parallelCategories![i], categories) : null });
      return;
    }
    const text = firstString(value, TEXT_KEYS);
    if (text !== undefined) out.push({ text, category: mapCategory(firstString(value, CATEGORY_KEYS), categories) });
  });
  return out;
}

/** Cleans, bounds and de-duplicates (case-insensitively, first one wins). */
function tidy(keywords: RawKeyword[]): RawKeyword[] {
  const seen = new Set<string>();
  const out: RawKeyword[] = [];
  for (const k of keywords) {
    const text = k.text
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/^["'“”‘’]+|["'“”‘’.,!?;:]+$/gu, '');
    if (!text || text.length > 64) continue;
    const key = text.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ text, category: k.category });
  }
  return out;
}

/**
 * The keywords in a model's answer. Throws InvalidOutputError when the answer holds no JSON of a
 * usable shape; an empty list is a valid answer (a sentence with nothing worth keeping).
 */
export function parseKeywordAnswer(output: string, categories: readonly string[]): RawKeyword[] {
  const value = extractJson(output);
  if (value === undefined) throw new InvalidOutputError('no JSON in the model output', output);

  if (Array.isArray(value)) return tidy(normalizeItems(value, undefined, categories));

  const parsed = answerObject.safeParse(value);
  if (!parsed.success) throw new InvalidOutputError('model output is not a JSON object or array', output);
  const answer = parsed.data;
  if (answer.keywords) return tidy(normalizeItems(answer.keywords, answer.categories, categories));

  // a lone keyword object, or a category-keyed map
  const record = value as Record<string, unknown>;
  const single = firstString(record, TEXT_KEYS);
  if (single !== undefined) {
    return tidy([{ text: single, category: mapCategory(firstString(record, CATEGORY_KEYS), categories) }]);
  }
  const mapped = fromCategoryMap(record, categories);
  if (mapped) return tidy(mapped);
  if (Object.keys(record).length === 0) return [];
  throw new InvalidOutputError('model output has no "keywords" list', output);
}
