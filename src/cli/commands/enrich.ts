// `earshot enrich "text"`: keywords and categories for a sentence, from the configured LLM or the
// built-in extractor. `earshot llm check`: is the LLM reachable and usable, with a clear verdict.
import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.js';
import { checkLlm, type LlmCheckReport } from '../../pipeline/enrich/check.js';
import { parseEnrichConfig, type EnrichConfig } from '../../config/enrichment.js';
import { Enricher } from '../../pipeline/enrich/index.js';
import type { EnrichmentResult } from '../../pipeline/enrich/types.js';

type Options = Record<string, string | boolean | undefined>;

/** Options shared by both commands: where the LLM is and how to talk to it. */
function llmOptions(cmd: Command): Command {
  return cmd
    .option('--llm-url <url>', 'OpenAI-compatible base URL, e.g. http://localhost:8001/v1 (env EARSHOT_LLM_URL)')
    .option('--llm-model <name>', 'model name (env EARSHOT_LLM_MODEL; default: the first in /v1/models)')
    .option('--llm-api-key <key>', 'API key sent as a Bearer token (env EARSHOT_LLM_API_KEY)')
    .option('--mode <mode>', 'chat (/v1/chat/completions) | completions (/v1/completions) (env EARSHOT_LLM_MODE)')
    .option('--timeout-ms <ms>', 'LLM timeout in ms (env EARSHOT_LLM_TIMEOUT_MS)')
    .option('--structured-output <how>', 'json_schema | json_object | guided_json | structured_outputs | none (env EARSHOT_LLM_STRUCTURED_OUTPUT)')
    .option('--config <file>', 'JSON config file (env EARSHOT_CONFIG)');
}

/** defaults < config file < env < flags, as everywhere in Earshot. */
function resolveConfig(o: Options): EnrichConfig {
  if (o.mode !== undefined && o.mode !== 'chat' && o.mode !== 'completions') throw new Error('--mode must be chat or completions');
  const app = loadConfig({
    file: o.config as string | undefined,
    flags: {
      llm: { url: o.llmUrl, apiKey: o.llmApiKey, model: o.llmModel, mode: o.mode, timeoutMs: o.timeoutMs === undefined ? undefined : Number(o.timeoutMs) },
    },
  });
  const base = app.enrichment;
  const categories =
    typeof o.categories === 'string'
      ? o.categories
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean)
      : undefined;
  return parseEnrichConfig({
    ...base,
    llm: o.builtin ? null : base.llm && { ...base.llm, ...(o.structuredOutput ? { structuredOutput: o.structuredOutput as never } : {}) },
    ...(o.fallback === false ? { fallback: false } : {}),
    ...(categories?.length ? { categories } : {}),
    ...(typeof o.lexicon === 'string' ? { lexiconPath: o.lexicon } : {}),
    ...(typeof o.maxKeywords === 'string' ? { maxKeywords: Number(o.maxKeywords) } : {}),
  });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function describeSource(r: EnrichmentResult): string {
  if (r.source === 'llm') return `LLM ${r.model} (${r.latencyMs} ms)`;
  if (r.source === 'builtin')
    return r.fallbackReason ? `built-in extractor — LLM not used: ${r.fallbackReason}${r.error ? ` (${r.error})` : ''}` : 'built-in extractor';
  return r.status === 'unavailable' ? `none — LLM unavailable: ${r.fallbackReason}${r.error ? ` (${r.error})` : ''}` : 'none';
}

/** Terminal columns: Hangul and CJK take two. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return w;
}

function printResult(r: EnrichmentResult): void {
  const out: string[] = [`source: ${describeSource(r)}`, `language: ${r.language}`];
  if (r.keywords.length === 0) out.push('(no keywords)');
  const width = Math.max(0, ...r.keywords.map((k) => displayWidth(k.text)));
  for (const k of r.keywords) out.push(`  ${k.text}${' '.repeat(width - displayWidth(k.text))}  ${k.category}`);
  process.stdout.write(out.join('\n') + '\n');
}

function printCheck(r: LlmCheckReport): void {
  const lines = [`LLM check: ${r.url}`];
  if (r.models) lines.push(`  models:  ${r.models.join(', ') || '(none)'} (${r.modelsLatencyMs} ms)`);
  if (r.model) lines.push(`  model:   ${r.model}`);
  if (r.test) {
    const t = r.test;
    lines.push(`  test:    "${t.text}"`);
    lines.push(`           via ${t.mode}, structured output ${t.structuredOutput}` + (t.ok ? `: ${t.latencyMs} ms, finish_reason ${t.finishReason}` : ''));
    if (t.ok) lines.push(`           ${t.keywords.map((k) => `${k.text} [${k.category ?? '?'}]`).join(', ') || '(no keywords)'}`);
    else if (t.error) lines.push(`           error: ${t.error}`);
  }
  lines.push(`verdict: ${r.verdict.toUpperCase()} — ${r.message}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export function register(program: Command): void {
  llmOptions(
    program
      .command('enrich')
      .description('extract keywords and categories from text with the configured LLM, or the built-in extractor')
      .argument('[text...]', 'the text (read from stdin when omitted)'),
  )
    .option('--language <code>', 'ko | en (default: guessed from the text)')
    .option('--builtin', 'use the built-in extractor only, even if an LLM is configured')
    .option('--no-fallback', 'report the LLM as unavailable instead of falling back to the built-in extractor')
    .option('--categories <list>', 'comma-separated category list (env EARSHOT_ENRICH_CATEGORIES)')
    .option('--lexicon <file>', 'JSON lexicon mapping terms to categories (env EARSHOT_ENRICH_LEXICON)')
    .option('--max-keywords <n>', 'at most this many keywords (env EARSHOT_ENRICH_MAX_KEYWORDS)')
    .option('--json', 'print the full result as JSON')
    .action(async (words: string[], o: Options) => {
      const text = words.length ? words.join(' ') : await readStdin();
      if (!text.trim()) throw new Error('give the text as an argument or pipe it on stdin');
      const enricher = await Enricher.create(resolveConfig(o));
      const result = await enricher.enrich({ text, language: o.language as string | undefined });
      if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else printResult(result);
      if (result.status === 'unavailable') process.exitCode = 1;
    });

  const llm = program.command('llm').description('tools for the LLM used for keyword enrichment');
  llmOptions(llm.command('check').description('check the LLM: connectivity, served models, a timed test extraction; exit 0 ok, 2 degraded, 1 failing'))
    .option('--language <code>', 'language of the test sentence: ko | en', 'ko')
    .option('--json', 'print the report as JSON')
    .action(async (o: Options) => {
      const config = resolveConfig(o);
      if (!config.llm) throw new Error('no LLM configured: pass --llm-url or set EARSHOT_LLM_URL');
      const language = o.language === 'en' ? 'en' : 'ko';
      const report = await checkLlm(config.llm, { language, categories: config.categories });
      if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printCheck(report);
      process.exitCode = report.verdict === 'ok' ? 0 : report.verdict === 'degraded' ? 2 : 1;
    });
}
