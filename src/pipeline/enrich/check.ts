// `earshot llm check`: can Earshot reach the LLM, which models does it serve, and does a real
// keyword request come back usable? Ends in one verdict a user can act on.
import type { LlmConfig } from '../../config/enrichment.js';
import { LlmClient, LlmError } from './llm-client.js';
import { DEFAULT_CATEGORIES, type EnrichLanguage } from './types.js';

export type LlmVerdict = 'ok' | 'degraded' | 'unreachable' | 'error';

export interface LlmCheckReport {
  url: string;
  verdict: LlmVerdict;
  /** one sentence saying what works and what to fix */
  message: string;
  models: string[] | null;
  modelsLatencyMs: number | null;
  model: string | null;
  test: {
    ok: boolean;
    language: EnrichLanguage;
    text: string;
    latencyMs: number | null;
    keywords: Array<{ text: string; category: string | null }>;
    output: string | null;
    finishReason: string | null;
    /** the endpoint finally used (the client switches to completions for a model without a chat template) */
    mode: string;
    structuredOutput: string;
    error: string | null;
  } | null;
}

const SAMPLES: Record<EnrichLanguage, string> = {
  ko: '김민수 씨가 내일 오후 3시에 서울에서 삼성전자와 신제품 출시 회의를 합니다.',
  en: 'Alice will meet the Samsung team in Seoul next Monday to plan the product launch.',
};

export interface CheckOptions {
  language?: EnrichLanguage;
  text?: string;
  categories?: readonly string[];
  fetch?: typeof fetch;
}

export async function checkLlm(config: LlmConfig, options: CheckOptions = {}): Promise<LlmCheckReport> {
  const client = new LlmClient(config, options.fetch);
  const language = options.language ?? 'ko';
  const text = options.text ?? SAMPLES[language];
  const report: LlmCheckReport = {
    url: config.baseUrl,
    verdict: 'error',
    message: '',
    models: null,
    modelsLatencyMs: null,
    model: config.model ?? null,
    test: null,
  };

  const t0 = performance.now();
  try {
    report.models = await client.listModels();
    report.modelsLatencyMs = Math.round(performance.now() - t0);
  } catch (err) {
    const e = err as LlmError;
    if (e instanceof LlmError && (e.kind === 'network' || e.kind === 'timeout')) {
      report.verdict = 'unreachable';
      report.message = `${e.message}. Is the server running, and is the URL right (it should end in /v1)?`;
      return report;
    }
    // some servers have no /v1/models; a configured model can still be tried
    if (!config.model) {
      report.verdict = 'error';
      report.message = `${e.message}. Set the model explicitly (--llm-model) if the server has no /v1/models.`;
      return report;
    }
  }
  if (report.models && config.model && !report.models.includes(config.model)) {
    report.message = `model "${config.model}" is not among the served models (${report.models.join(', ')}); `;
  }

  try {
    const answer = await client.extract(text, { language, categories: options.categories ?? DEFAULT_CATEGORIES, maxKeywords: 10 });
    report.model = answer.model;
    report.test = {
      ok: true,
      language,
      text,
      latencyMs: answer.latencyMs,
      keywords: answer.keywords,
      output: answer.output,
      finishReason: answer.finishReason,
      mode: client.mode,
      structuredOutput: client.structuredOutput,
      error: null,
    };
    const adapted = [
      client.mode !== config.mode ? `switched to /v1/${client.mode === 'completions' ? 'completions' : 'chat/completions'}` : '',
      client.structuredOutput !== config.structuredOutput ? `structured output "${config.structuredOutput}" was refused, parsing plain answers` : '',
    ].filter(Boolean);
    if (answer.keywords.length === 0) {
      report.verdict = 'degraded';
      report.message += `"${answer.model}" answered in ${answer.latencyMs} ms but found no keywords in the test sentence.`;
    } else {
      report.verdict = 'ok';
      report.message += `"${answer.model}" answered in ${answer.latencyMs} ms with ${answer.keywords.length} keywords.`;
    }
    if (adapted.length) report.message += ` Note: ${adapted.join('; ')} — set --mode/structured output accordingly.`;
  } catch (err) {
    const e = err as LlmError;
    report.model = client.model ?? report.model;
    report.test = {
      ok: false,
      language,
      text,
      latencyMs: null,
      keywords: [],
      output: null,
      finishReason: null,
      mode: client.mode,
      structuredOutput: client.structuredOutput,
      error: e.message,
    };
    if (e instanceof LlmError && e.kind === 'invalid_output') {
      report.verdict = 'degraded';
      report.message += `the server answers, but the model's output could not be read as keywords (${e.message}); Earshot will fall back to the built-in extractor.`;
    } else if (e instanceof LlmError && (e.kind === 'network' || e.kind === 'timeout')) {
      report.verdict = 'unreachable';
      report.message += `${e.message}.`;
    } else {
      report.verdict = 'error';
      report.message += `${e.message ?? String(err)}.`;
    }
  }
  return report;
}
