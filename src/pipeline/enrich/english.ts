// English keyword candidates: runs of content words between stopwords and punctuation (noun phrases
// such as "quarterly budget"), capitalised sequences as names ("New York City"), time expressions,
// and plural nouns made singular.
import { candidateKey, type BuiltinCategory, type Candidate } from './candidate.js';

/** Verbs that are seldom nouns; their -s, -ed and irregular forms are generated or listed below. */
const VERBS = `be have do get go come make take give say tell know think see look want use find try ask feel seem let
  put keep begin hear move like live believe bring happen write sit stand lose meet include continue understand follow
  create speak read spend grow walk remember consider appear buy wait serve send expect build stay reach remain suggest
  raise require decide pull mean leave discuss agree finish arrive cover explain describe provide allow add receive
  become involve contain mention manage prefer avoid enjoy suppose hope assume attend prepare happen fly drive eat
  drink sing swim throw wear wake choose forget hold ride rise sleep steal teach announce visit finalize need talk
  help call turn stop present check plan open watch pass offer love pay win show start play run work fall seem`.split(/\s+/);

const IRREGULAR_VERB_FORMS = `am is are was were been being has had having does did doing done got gotten went gone came
  made took taken gave given said told knew known thought saw seen found felt kept began begun heard brought wrote
  written sat stood lost paid met understood spoke spoken spent grew won bought sent built fell left meant flew flown
  drove driven ate eaten drank sang swam threw wore woke chose chosen forgot forgotten held rode rose slept stole
  taught ran`.split(/\s+/);

function verbForms(base: string): string[] {
  const s = /(s|x|z|ch|sh|o)$/.test(base) ? `${base}es` : /[^aeiou]y$/.test(base) ? `${base.slice(0, -1)}ies` : `${base}s`;
  const ed = base.endsWith('e')
    ? `${base}d`
    : /[^aeiou]y$/.test(base)
      ? `${base.slice(0, -1)}ied`
      : /^[^aeiou]*[aeiou][^aeiouwxy]$/.test(base)
        ? `${base}${base.slice(-1)}ed`
        : `${base}ed`;
  return [base, s, ed];
}

/** Verbs that are also common nouns: only their bare form stays content ("the plan", "a talk"). */
const NOUN_VERBS = new Set([
  'talk',
  'help',
  'call',
  'turn',
  'stop',
  'present',
  'check',
  'plan',
  'watch',
  'pass',
  'offer',
  'love',
  'pay',
  'win',
  'show',
  'start',
  'play',
  'run',
  'work',
  'fall',
  'visit',
  'hope',
  'drink',
  'hold',
  'ride',
  'rise',
  'sleep',
  'wait',
  'walk',
  'use',
  'look',
  'drive',
  'spend',
  'stand',
  'read',
]);

const STOPWORDS = new Set([
  ...`a an the and or but nor so yet if then than that this these those there here where when while what which who whom
  whose why how all any both each few more most other some such no not only own same too very just also again ever
  never always often sometimes usually already still even perhaps maybe quite rather really actually basically
  i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she her hers
  herself it its itself they them their theirs themselves one ones someone somebody something anything everything
  nothing anyone everyone nobody
  will would shall should can could may might must ought dare going getting coming making taking giving saying
  telling thinking looking trying doing having being
  of at by for with about against between into through during before after above below to from up down in out on off
  over under around near across along behind beyond within without toward towards upon onto via per since until till
  as because though although unless whether either neither
  yes no okay ok oh uh um hmm yeah yep nope well right sure please thanks thank hello hi hey bye
  good great nice bad big small large little new old same different many much lot lots kind sort bit thing things
  stuff way ways time times first second third last next previous another every whole certain able important
  possible probably definitely exactly today's now later soon ago once twice due ready available busy late
  zero two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand
  million billion several couple half dozen
  mr mrs ms dr prof`.split(/\s+/),
  ...IRREGULAR_VERB_FORMS,
  ...VERBS.flatMap((v) => {
    const [base, s, ed] = verbForms(v);
    return NOUN_VERBS.has(v) ? [s, ed] : [base, s, ed];
  }),
]);

/** Words that look like content but are time expressions; handled before phrase building. */
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const MONTHS = ['january', 'february', 'march', 'april', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const TIME_WORDS = new Set(['today', 'tomorrow', 'yesterday', 'tonight', 'noon', 'midnight', 'weekend', ...WEEKDAYS, ...MONTHS]);
const TIME_UNITS = new Set(['week', 'month', 'year', 'quarter', 'morning', 'afternoon', 'evening', 'night', 'weekend', ...WEEKDAYS]);

const PLACES = new Set(
  `seoul busan incheon daegu daejeon gwangju jeju korea japan china india america usa canada mexico brazil
  france germany italy spain britain england london paris berlin tokyo osaka beijing shanghai singapore sydney
  toronto vancouver california texas york boston chicago seattle europe asia africa australia russia vietnam
  thailand`.split(/\s+/),
);
const MULTIWORD_PLACES = new Set([
  'new york',
  'new york city',
  'san francisco',
  'los angeles',
  'las vegas',
  'hong kong',
  'south korea',
  'north korea',
  'new zealand',
  'united states',
  'united kingdom',
  'new jersey',
  'new delhi',
]);
/** Capitalised function words that begin names: New York, United Nations, San Jose. */
const NAME_PREFIXES = new Set([
  'new',
  'old',
  'great',
  'united',
  'north',
  'south',
  'east',
  'west',
  'saint',
  'st',
  'san',
  'santa',
  'los',
  'las',
  'la',
  'el',
  'de',
  'le',
  'big',
  'little',
  'first',
]);
/** Abbreviations whose dot does not end a sentence. */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'vs', 'etc', 'inc', 'corp', 'ltd', 'no']);
const PLACE_SUFFIXES = new Set([
  'city',
  'street',
  'avenue',
  'road',
  'river',
  'lake',
  'mountain',
  'park',
  'station',
  'airport',
  'bridge',
  'island',
  'bay',
  'valley',
  'county',
  'province',
  'square',
  'beach',
]);
const ORGANIZATIONS = new Set(
  `google apple microsoft amazon samsung openai meta ibm intel nvidia tesla netflix naver kakao hyundai lg sony
  toyota facebook twitter youtube anthropic huawei alibaba tencent spotify uber airbnb oracle adobe nasa unesco un
  who fifa`.split(/\s+/),
);
const ORG_SUFFIXES = new Set([
  'inc',
  'corp',
  'corporation',
  'ltd',
  'llc',
  'company',
  'university',
  'college',
  'institute',
  'bank',
  'group',
  'foundation',
  'association',
  'agency',
  'ministry',
  'department',
  'council',
  'committee',
  'labs',
  'systems',
  'technologies',
  'school',
  'hospital',
]);
const FIRST_NAMES = new Set(
  `james john robert michael william david richard joseph thomas charles daniel matthew mark paul steven andrew
  kevin brian george edward peter tom tim sam alex chris mary patricia jennifer linda elizabeth barbara susan
  jessica sarah karen nancy lisa emily emma olivia sophia alice bob carol dave eve anna maria laura julia kate
  minsu jiwon`.split(/\s+/),
);
const TITLES = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'professor', 'president', 'ceo', 'director', 'manager']);

/** -ly words that are nouns or adjectives, not adverbs. */
const LY_WORDS = new Set([
  'quarterly',
  'monthly',
  'weekly',
  'daily',
  'yearly',
  'hourly',
  'friendly',
  'lonely',
  'early',
  'costly',
  'lovely',
  'elderly',
  'family',
  'italy',
  'july',
  'supply',
  'reply',
  'assembly',
  'rally',
  'ally',
  'anomaly',
  'monopoly',
  'butterfly',
  'jelly',
  'belly',
  'holly',
  'emily',
  'sally',
  'billy',
  'kelly',
  'molly',
  'lily',
]);
/** -ies words whose singular ends in -ie. */
const IE_SINGULARS = new Set([
  'movies',
  'cookies',
  'zombies',
  'rookies',
  'calories',
  'selfies',
  'brownies',
  'pies',
  'ties',
  'lies',
  'hippies',
  'smoothies',
  'goalies',
]);
const IRREGULAR: Record<string, string> = {
  people: 'person',
  children: 'child',
  men: 'man',
  women: 'woman',
  mice: 'mouse',
  feet: 'foot',
  teeth: 'tooth',
  geese: 'goose',
  knives: 'knife',
  lives: 'life',
  wives: 'wife',
  leaves: 'leaf',
  halves: 'half',
  shelves: 'shelf',
  wolves: 'wolf',
  thieves: 'thief',
  analyses: 'analysis',
  crises: 'crisis',
  data: 'data',
  criteria: 'criterion',
};
/** -us nouns whose plural is -uses. */
const US_SINGULARS = new Set([
  'bus',
  'virus',
  'campus',
  'bonus',
  'census',
  'status',
  'focus',
  'genius',
  'surplus',
  'chorus',
  'circus',
  'corpus',
  'syllabus',
  'apparatus',
  'prospectus',
  'walrus',
  'octopus',
]);
const UNCOUNTED_S = /(ss|us|is|ics|ous|news|series|species|data)$/;

/** The singular of a lower-case English noun, by the common rules. */
export function singularize(word: string): string {
  const w = word.toLowerCase();
  if (IRREGULAR[w]) return IRREGULAR[w];
  if (w.length <= 3 || UNCOUNTED_S.test(w) || !w.endsWith('s')) return w;
  if (IE_SINGULARS.has(w)) return w.slice(0, -1);
  if (w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (/(ch|sh|x|z|ss)es$/.test(w)) return w.slice(0, -2);
  if (/[^aeiou]oes$/.test(w) && !['shoes', 'canoes'].includes(w)) return w.slice(0, -2);
  if (w.endsWith('uses') && US_SINGULARS.has(w.slice(0, -2))) return w.slice(0, -2); // buses → bus; houses → house below
  if (w.endsWith('ses')) return w.slice(0, -1); // courses → course, cases → case
  return w.slice(0, -1);
}

interface Token {
  raw: string;
  lower: string;
  /** the sentence's first word: its capital says nothing */
  initial: boolean;
  /** punctuation before this token breaks phrases */
  breakBefore: boolean;
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’.-]*[\p{L}\p{N}]|[\p{L}\p{N}]/gu;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  let sentenceStart = true;
  for (const m of text.matchAll(WORD)) {
    let gap = text.slice(last, m.index);
    // "Dr. Kim": the abbreviation's dot is not a full stop
    if (tokens.length && ABBREVIATIONS.has(tokens[tokens.length - 1].lower)) gap = gap.replace(/^\./, '');
    const breakBefore = /[,;:()"“”!?]|\.\s|—|–|\s-\s/.test(gap) || tokens.length === 0;
    if (/[.!?]/.test(gap)) sentenceStart = true;
    let raw = m[0].replace(/['’]s$/u, '').replace(/\.$/, ''); // Google's → Google; "U.S." keeps its inner dots
    if (!raw) raw = m[0];
    tokens.push({ raw, lower: raw.toLowerCase(), initial: sentenceStart, breakBefore });
    sentenceStart = false;
    last = m.index + m[0].length;
    if (/[.!?]$/.test(m[0])) sentenceStart = true;
  }
  return tokens;
}

function isCapitalized(t: Token): boolean {
  return /^\p{Lu}/u.test(t.raw);
}

function isNumber(t: Token): boolean {
  return /^\d[\d.,:]*$/.test(t.raw);
}

/** Content words are what noun phrases are made of; everything else separates them. */
function isContent(t: Token, next: Token | undefined, previous: Token | undefined): boolean {
  if (isCapitalized(t) && NAME_PREFIXES.has(t.lower) && next && isCapitalized(next) && !next.breakBefore) return true;
  if (STOPWORDS.has(t.lower) && !(isCapitalized(t) && !t.initial && ORGANIZATIONS.has(t.lower))) return false;
  // Pixel 9, Windows 11: a number straight after a name belongs to it
  if (isNumber(t)) return previous !== undefined && isCapitalized(previous) && !previous.initial && !t.breakBefore && !TIME_WORDS.has(previous.lower);
  if (t.lower.length < 2) return false;
  if (!isCapitalized(t) || t.initial) {
    if (/ly$/.test(t.lower) && t.lower.length > 4 && !LY_WORDS.has(t.lower)) return false; // adverbs
    if (/ed$/.test(t.lower) && t.lower.length > 4 && !['speed', 'seed', 'need', 'feed', 'bed', 'red'].includes(t.lower)) return false; // past tense
    if (/n't$|'(ll|re|ve|d|m)$/.test(t.lower)) return false;
    if (/(iz|yz)(e|es|ed|ing)$/.test(t.lower) && t.lower.length > 6) return false; // finalize, analyzing
  }
  return true;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Finds time expressions and returns the token indexes they cover. */
function timeExpressions(tokens: Token[], add: (text: string, position: number, category: BuiltinCategory, weight: number) => void): Set<number> {
  const used = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const next = tokens[i + 1];
    // next week, this friday, last month
    if (['next', 'last', 'this'].includes(t.lower) && next && TIME_UNITS.has(next.lower)) {
      add(`${t.lower} ${WEEKDAYS.includes(next.lower) ? capitalize(next.lower) : next.lower}`, i, 'date_time', 0.8);
      used.add(i).add(i + 1);
      i++;
      continue;
    }
    // 3 pm, 10:30 am, 9 o'clock
    if (/^\d{1,2}(:\d{2})?$/.test(t.raw) && next && /^(am|pm|a\.m|p\.m|o'clock|o’clock)$/i.test(next.raw)) {
      add(`${t.raw} ${next.lower.replace(/\./g, '')}`, i, 'date_time', 0.8);
      used.add(i).add(i + 1);
      i++;
      continue;
    }
    if (/^\d{1,2}(:\d{2})?(am|pm)$/i.test(t.raw) || /^\d{1,2}:\d{2}$/.test(t.raw) || /^(19|20)\d{2}$/.test(t.raw)) {
      add(t.raw.toLowerCase(), i, 'date_time', 0.8);
      used.add(i);
      continue;
    }
    // "May" is a month only where it reads like one: capitalised mid-sentence next to a number, or after in/on/since/until/by
    const isMay =
      t.raw === 'May' && ((next && isNumber(next)) || ['in', 'on', 'since', 'until', 'by', 'early', 'late', 'mid'].includes(tokens[i - 1]?.lower ?? ''));
    if (TIME_WORDS.has(t.lower) || isMay) {
      // March 3, Friday the 13th
      if (next && /^\d{1,2}(st|nd|rd|th)?$/.test(next.raw) && (MONTHS.includes(t.lower) || isMay)) {
        add(`${capitalize(t.lower)} ${next.raw}`, i, 'date_time', 0.8);
        used.add(i).add(i + 1);
        i++;
      } else {
        add(MONTHS.includes(t.lower) || WEEKDAYS.includes(t.lower) || isMay ? capitalize(t.lower) : t.lower, i, 'date_time', 0.8);
        used.add(i);
      }
    }
  }
  return used;
}

function categoryOf(words: Token[], proper: boolean, previous: Token | undefined): BuiltinCategory {
  const lowers = words.map((w) => w.lower);
  const last = lowers[lowers.length - 1];
  if (lowers.some((w) => ORGANIZATIONS.has(w)) && words.length <= 2 && proper) return 'organization';
  if (proper && ORG_SUFFIXES.has(last) && words.length > 1) return 'organization';
  if (lowers.length === 1 && PLACES.has(last)) return 'place';
  if (MULTIWORD_PLACES.has(lowers.join(' '))) return 'place';
  if (proper && (lowers.every((w) => PLACES.has(w) || w === 'new' || w === 'south' || w === 'north') || (PLACE_SUFFIXES.has(last) && words.length > 1)))
    return 'place';
  if (words.some((w) => /\d/.test(w.raw) && /\p{L}/u.test(w.raw)) || (proper && /\d/.test(words.map((w) => w.raw).join(' ')))) return 'product';
  if (proper && (FIRST_NAMES.has(lowers[0]) || (previous && TITLES.has(previous.lower)))) return 'person';
  return proper ? 'other' : 'topic';
}

/** Keyword candidates of one English utterance, in order of occurrence. */
export function englishCandidates(input: string): Candidate[] {
  // CTC models write ALL CAPS without punctuation; capitals then carry no meaning
  const text = /\p{Ll}/u.test(input) ? input : input.toLowerCase();
  const tokens = tokenize(text);
  const out: Candidate[] = [];
  const add = (display: string, position: number, category: BuiltinCategory, weight: number) => {
    out.push({ text: display, key: candidateKey(display), category, position, weight });
  };
  const used = timeExpressions(tokens, add);

  // runs of content words, broken by punctuation, stopwords and time expressions
  let run: number[] = [];
  const flush = () => {
    if (run.length)
      emitRun(
        run.map((i) => tokens[i]),
        run[0],
        tokens[run[0] - 1],
        add,
      );
    run = [];
  };
  tokens.forEach((t, i) => {
    if (t.breakBefore) flush();
    if (used.has(i) || !isContent(t, tokens[i + 1], tokens[i - 1])) {
      flush();
      return;
    }
    run.push(i);
  });
  flush();
  return out.sort((a, b) => a.position - b.position);
}

/** Splits a run where capitalisation changes ("Google Cloud" | "pricing") and emits each part. */
function emitRun(
  words: Token[],
  start: number,
  previous: Token | undefined,
  add: (text: string, position: number, category: BuiltinCategory, weight: number) => void,
): void {
  // a sentence-initial capital counts as proper only when the next word is capitalised too ("New York"), or it is a known name
  const proper = (t: Token, i: number): boolean =>
    (isNumber(t) && i > 0 && proper(words[i - 1], i - 1)) ||
    (isCapitalized(t) &&
      (!t.initial ||
        (words[i + 1] !== undefined && isCapitalized(words[i + 1])) ||
        PLACES.has(t.lower) ||
        ORGANIZATIONS.has(t.lower) ||
        FIRST_NAMES.has(t.lower)));
  let i = 0;
  while (i < words.length) {
    const isProper = proper(words[i], i);
    let j = i + 1;
    while (j < words.length && proper(words[j], j) === isProper) j++;
    let part = words.slice(i, j);
    // long common runs are usually two phrases; keep the last three words, the head noun's phrase
    if (!isProper && part.length > 3) {
      for (const w of part.slice(0, -3)) emitPhrase([w], false, start + i + part.indexOf(w), previous, add);
      part = part.slice(-3);
    }
    emitPhrase(part, isProper, start + i + (words.slice(i, j).length - part.length), i === 0 ? previous : words[i - 1], add);
    i = j;
  }
}

function emitPhrase(
  words: Token[],
  proper: boolean,
  position: number,
  previous: Token | undefined,
  add: (text: string, position: number, category: BuiltinCategory, weight: number) => void,
): void {
  if (words.length === 0) return;
  const category = categoryOf(words, proper, previous);
  let display: string;
  if (proper) {
    display = words.map((w) => w.raw).join(' ');
  } else {
    const lowers = words.map((w) => w.lower);
    lowers[lowers.length - 1] = singularize(lowers[lowers.length - 1]);
    display = lowers.join(' ');
  }
  if (display.replace(/[^\p{L}]/gu, '').length < 2) return;
  const weight = (proper ? 1.5 : 1) * (1 + 0.25 * (words.length - 1));
  add(display, position, category, weight);
}
