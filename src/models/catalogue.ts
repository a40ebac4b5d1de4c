// The catalogue: short names for the official whisper.cpp ggml files on Hugging Face
// (repo ggerganov/whisper.cpp, file ggml-<name>.bin). SHA-1 sums are the ones whisper.cpp
// publishes in models/README.md; files without a published sum are still verified against the
// sha256 the Hub reports for the LFS object (X-Linked-Etag).

export const CATALOGUE_REPO = 'ggerganov/whisper.cpp';
export const CATALOGUE_REVISION = 'main';

export interface CatalogueEntry {
  name: string;
  /** file name inside CATALOGUE_REPO */
  file: string;
  /** published SHA-1 of the file, when whisper.cpp lists one */
  sha1?: string;
  /** approximate size, for listings before download */
  approxMiB: number;
  multilingual: boolean;
  quantization?: string;
}

const PUBLISHED_SHA1: Record<string, string> = {
  tiny: 'bd577a113a864445d4c299885e0cb97d4ba92b5f',
  'tiny.en': 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df',
  base: '465707469ff3a37a2b9b8d8f89f2f99de7299dac',
  'base.en': '137c40403d78fd54d454da0f9bd998f78703390c',
  small: '55356645c2b361a969dfd0ef2c5a50d530afd8d5',
  'small.en': 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022',
  'small.en-tdrz': 'b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1',
  medium: 'fd9727b6e1217c2f614f9b698455c4ffd82463b4',
  'medium.en': '8c30f0e44ce9560643ebd10bbe50cd20eafd3723',
  'large-v1': 'b1caaf735c4cc1429223d5a74f0f4d0b9b59a299',
  'large-v2': '0f4c8e34f21cf1a914c59d8b3ce882345ad349d6',
  'large-v2-q5_0': '00e39f2196344e901b3a2bd5814807a769bd1630',
  'large-v3': 'ad82bf6a9043ceed055076d0fd39f5f186ff8062',
  'large-v3-q5_0': 'e6e2ed78495d403bef4b7cff42ef4aaadcfea8de',
  'large-v3-turbo': '4af2b29d7ec73d781377bfd1758ca957a807e941',
  'large-v3-turbo-q5_0': 'e050f7970618a659205450ad97eb95a18d69c9ee',
};

// name → approximate MiB (whisper.cpp's download script list; sizes from its README where given,
// else scaled from the f16 size by the quantization's bits per weight)
const NAMES: Array<[string, number]> = [
  ['tiny', 75],
  ['tiny.en', 75],
  ['tiny-q5_1', 31],
  ['tiny.en-q5_1', 31],
  ['tiny-q8_0', 42],
  ['base', 142],
  ['base.en', 142],
  ['base-q5_1', 57],
  ['base.en-q5_1', 57],
  ['base-q8_0', 78],
  ['small', 466],
  ['small.en', 466],
  ['small.en-tdrz', 465],
  ['small-q5_1', 181],
  ['small.en-q5_1', 181],
  ['small-q8_0', 252],
  ['medium', 1533],
  ['medium.en', 1533],
  ['medium-q5_0', 514],
  ['medium.en-q5_0', 514],
  ['medium-q8_0', 785],
  ['large-v1', 2951],
  ['large-v2', 2951],
  ['large-v2-q5_0', 1080],
  ['large-v2-q8_0', 1500],
  ['large-v3', 2951],
  ['large-v3-q5_0', 1080],
  ['large-v3-turbo', 1549],
  ['large-v3-turbo-q5_0', 547],
  ['large-v3-turbo-q8_0', 834],
];

export const CATALOGUE: readonly CatalogueEntry[] = NAMES.map(([name, approxMiB]) => {
  const quant = /-(q\d_\d)$/.exec(name)?.[1];
  const entry: CatalogueEntry = {
    name,
    file: `ggml-${name}.bin`,
    approxMiB,
    multilingual: !name.includes('.en'),
  };
  if (PUBLISHED_SHA1[name]) entry.sha1 = PUBLISHED_SHA1[name];
  if (quant) entry.quantization = quant;
  return entry;
});

const BY_NAME = new Map(CATALOGUE.map((e) => [e.name, e]));

export function catalogueEntry(name: string): CatalogueEntry | undefined {
  return BY_NAME.get(name);
}

/** True for strings shaped like a catalogue name (no slash, no scheme, no extension path). */
export function looksLikeCatalogueName(spec: string): boolean {
  return /^[a-z][a-z0-9.-]*(-q\d_\d)?$/i.test(spec) && !spec.includes('/');
}

/** Up to `max` catalogue names closest to `name` (edit distance), best first. */
export function suggestCatalogueNames(name: string, max = 3): string[] {
  const wanted = name.toLowerCase();
  return CATALOGUE.map((e) => ({ name: e.name, d: editDistance(wanted, e.name) }))
    .filter((x) => x.d <= Math.max(2, Math.ceil(wanted.length / 3)) || x.name.startsWith(wanted) || wanted.startsWith(x.name))
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, max)
    .map((x) => x.name);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
