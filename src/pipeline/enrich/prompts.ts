// Prompts and the JSON schema sent to the LLM. Kept short: seed 002 ran Qwen2.5-7B with a 224-token context.
import type { EnrichLanguage } from './types.js';

export interface PromptOptions {
  language: EnrichLanguage;
  categories: readonly string[];
  maxKeywords: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const EMPTY = '{"keywords":[],"categories":[]}';
const SHAPE = '{"keywords":[{"text":"...","category":"..."}],"categories":["..."]}';

function instructions({ language, categories, maxKeywords }: PromptOptions): string {
  const list = categories.join(', ');
  if (language === 'ko') {
    return [
      '음성 인식으로 받아 적은 문장에서 핵심 명사(키워드)를 뽑아 분류합니다.',
      `JSON만 출력하세요: ${SHAPE}`,
      `키워드는 문장에 나온 명사나 명사구를 조사와 어미를 뗀 형태로 씁니다(예: "서울에서" → "서울"). 최대 ${maxKeywords}개.`,
      `category는 다음 중 하나입니다: ${list}. categories에는 쓰인 category를 나열합니다.`,
      `키워드가 없으면 ${EMPTY}를 출력합니다.`,
    ].join('\n');
  }
  return [
    'Extract the key nouns (keywords) from one sentence of a speech transcript and classify them.',
    `Output only JSON: ${SHAPE}`,
    `Keywords are nouns or noun phrases as written in the sentence, without articles; at most ${maxKeywords}.`,
    `category is one of: ${list}. categories lists the categories used.`,
    `If there are no keywords, output ${EMPTY}.`,
  ].join('\n');
}

/** Messages for /v1/chat/completions. */
export function chatMessages(text: string, options: PromptOptions): ChatMessage[] {
  return [
    { role: 'system', content: instructions(options) },
    { role: 'user', content: text },
  ];
}

/** One prompt for /v1/completions (seed 001's endpoint); ends where the model should start the JSON. */
export function completionPrompt(text: string, options: PromptOptions): string {
  const label = options.language === 'ko' ? '문장' : 'Sentence';
  return `${instructions(options)}\n\n${label}: ${text.replace(/\s+/g, ' ').trim()}\nJSON:`;
}

/** Stops a base model from writing the next example after its answer. */
export const COMPLETION_STOP = ['\n\n', '\n문장:', '\nSentence:'];

/** The answer's JSON schema, with the configured categories as an enum. */
export function keywordJsonSchema(categories: readonly string[]): Record<string, unknown> {
  const category = { type: 'string', enum: [...categories] };
  return {
    type: 'object',
    properties: {
      keywords: {
        type: 'array',
        items: {
          type: 'object',
          properties: { text: { type: 'string' }, category },
          required: ['text', 'category'],
          additionalProperties: false,
        },
      },
      categories: { type: 'array', items: category },
    },
    required: ['keywords', 'categories'],
    additionalProperties: false,
  };
}
