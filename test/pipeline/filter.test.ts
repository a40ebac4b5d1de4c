// The hallucination filter on texts Whisper really produces over silence, music and noise, with
// real audio (pocketsphinx recordings, digital silence) and the real Silero VAD where the audio matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Segment, Transcript } from '../../src/engines/types.js';
import {
  FilterStats,
  HallucinationFilter,
  builtinPatternCount,
  filterTranscript,
  longestRepetition,
  repetitionTokens,
} from '../../src/pipeline/filter/index.js';
import { SileroVadModel } from '../../src/pipeline/vad/index.js';
import { ALSA_NOISE, compose, decode16k, librivox, silence } from './helpers/audio.js';

let model: SileroVadModel;
test.before(async () => {
  model = await SileroVadModel.load();
});
test.after(async () => {
  await model.close();
});

function segment(id: number, text: string, extra: Partial<Segment> = {}): Segment {
  return {
    id,
    seek: 0,
    start: id * 2,
    end: id * 2 + 2,
    text,
    tokens: [],
    temperature: 0,
    avgLogprob: -0.25,
    compressionRatio: 0,
    noSpeechProb: 0.02,
    ...extra,
  };
}

function transcript(language: string, ...segments: Segment[]): Transcript {
  return {
    text: segments.map((s) => s.text.trim()).join(' '),
    language,
    duration: segments.length * 2,
    segments,
    task: 'transcribe',
    model: 'test',
    engine: 'whisper',
    processingTime: 0,
  };
}

async function one(language: string, text: string, extra: Partial<Segment> = {}, filter = new HallucinationFilter()) {
  return filter.filter(transcript(language, segment(0, text, extra)));
}

test('at least 37 built-in patterns across Korean, English and any-language lists', () => {
  assert.ok(builtinPatternCount() >= 37, String(builtinPatternCount()));
  const counts = new HallucinationFilter().patternCounts();
  assert.ok(counts.ko >= 15 && counts.en >= 15 && counts['*'] >= 4, JSON.stringify(counts));
});

test('Korean sign-offs and broadcast tails are dropped whole, whatever the spacing and punctuation', async () => {
  for (const text of [
    '시청해주셔서 감사합니다.',
    ' 시청해 주셔서 감사합니다!',
    '구독과 좋아요 부탁드립니다.',
    '구독과 좋아요',
    'MBC 뉴스 김재경입니다.',
    'KBS 뉴스 이준범입니다',
    '자막 제공 및 자막 편집',
    '한글자막 by 한효정',
    '이 영상은 유료광고를 포함하고 있습니다.',
    '다음 영상에서 만나요~',
  ]) {
    const r = await one('ko', text);
    assert.equal(r.transcript.segments.length, 0, text);
    assert.equal(r.transcript.text, '', text);
    assert.equal(r.dropped[0].rule, 'phrase', text);
    assert.match(r.dropped[0].pattern ?? '', /^ko:/, text);
  }
});

test('English outros, subtitle credits and non-speech captions are dropped', async () => {
  for (const [text, lang] of [
    ['Thanks for watching!', 'en'],
    [' Thank you for watching.', 'en'],
    ['Please subscribe to my channel.', 'en'],
    ["Don't forget to like and subscribe!", 'en'],
    ['Subtitles by the Amara.org community', 'en'],
    ['Transcribed by https://otter.ai', 'en'],
    ['© transcript Emily Beynon', 'en'],
    ['[Music]', 'en'],
    ['(upbeat music)', 'en'],
    ['[BLANK_AUDIO]', 'en'],
    ['♪ ♪ ♪', 'ko'],
    ['...', 'ko'],
    ['[음악]', 'ko'],
  ]) {
    const r = await one(lang, text);
    assert.equal(r.transcript.segments.length, 0, text);
    assert.equal(r.dropped[0].rule, 'phrase', text);
  }
});

test('a sign-off after real speech is cut off and the speech kept (text, words and end time)', async () => {
  const words = [
    { word: ' 오늘', start: 0, end: 0.4, probability: 0.9 },
    { word: ' 회의는', start: 0.4, end: 0.9, probability: 0.9 },
    { word: ' 여기까지입니다.', start: 0.9, end: 1.6, probability: 0.9 },
    { word: ' 시청해', start: 1.7, end: 2.0, probability: 0.5 },
    { word: '주셔서', start: 2.0, end: 2.3, probability: 0.5 },
    { word: ' 감사합니다.', start: 2.3, end: 2.8, probability: 0.5 },
  ];
  const seg = segment(0, ' 오늘 회의는 여기까지입니다. 시청해주셔서 감사합니다.', { start: 0, end: 2.8, words });
  const r = await new HallucinationFilter().filter(transcript('ko', seg, segment(1, ' 네 다음 안건입니다.')));
  assert.equal(r.transcript.segments[0].text, '오늘 회의는 여기까지입니다.');
  assert.deepEqual(
    r.transcript.segments[0].words!.map((w) => w.word),
    [' 오늘', ' 회의는', ' 여기까지입니다.'],
  );
  assert.equal(r.transcript.segments[0].end, 1.6);
  assert.equal(r.transcript.text, '오늘 회의는 여기까지입니다. 네 다음 안건입니다.');
  assert.deepEqual(r.dropped, [{ segmentId: 0, rule: 'phrase_trailing', pattern: 'ko:시청해주셔서 감사합니다', text: '시청해주셔서 감사합니다.' }]);

  const en = await one('en', ' So that was the plan. Thanks for watching!');
  assert.equal(en.transcript.text, 'So that was the plan.');
  const two = await one('ko', '회의를 마칩니다. 구독과 좋아요 부탁드립니다. 시청해주셔서 감사합니다.');
  assert.equal(two.transcript.text, '회의를 마칩니다.');
  assert.equal(two.dropped.length, 2);
  const music = await one('en', 'and that is all ♪♪');
  assert.equal(music.transcript.text, 'and that is all');
});

test('"you", "Thank you." and "감사합니다" are dropped over near-silence only (real VAD on real audio)', async () => {
  const speech = decode16k(librivox('0880')); // ~3 s of speech
  const { audio } = compose([
    { kind: 'speech', audio: speech },
    { kind: 'silence', audio: silence(3) },
  ]);
  const vad = model.createDetector();
  const over = (start: number, end: number, text: string, language = 'en') =>
    new HallucinationFilter().filter(transcript(language, segment(0, text, { start, end })), { audio, vad });
  // over the silence (3.5 - 5.5 s)
  for (const [text, lang] of [
    [' you', 'en'],
    [' Thank you.', 'en'],
    ['감사합니다.', 'ko'],
    ['네.', 'ko'],
  ]) {
    const r = await over(3.5, 5.5, text, lang);
    assert.equal(r.transcript.segments.length, 0, text);
  }
  // over the speech (0.5 - 2.5 s): someone really said it
  for (const [text, lang] of [
    [' Thank you.', 'en'],
    ['감사합니다.', 'ko'],
  ]) {
    const r = await over(0.5, 2.5, text, lang);
    assert.equal(r.transcript.segments.length, 1, text);
    assert.equal(r.dropped.length, 0);
  }
  // with no audio at all, Whisper's own no-speech probability decides
  assert.equal((await one('en', 'Thank you.', { noSpeechProb: 0.55 })).transcript.segments.length, 0);
  assert.equal((await one('en', 'Thank you.', { noSpeechProb: 0.05 })).transcript.segments.length, 1);
});

test('text over audio the VAD calls non-speech is dropped (non_speech_audio)', async () => {
  const { audio } = compose([
    { kind: 'speech', audio: decode16k(librivox('0930')) },
    { kind: 'silence', audio: silence(4) },
  ]);
  const t = transcript(
    'en',
    segment(0, ' He might even have been made amiable himself.', { start: 0, end: 3.3 }),
    segment(1, ' And then the wind blew over the hills.', { start: 4, end: 6.5 }),
  );
  const r = await new HallucinationFilter().filter(t, { audio, vad: model.createDetector() });
  assert.deepEqual(
    r.transcript.segments.map((s) => s.id),
    [0],
  );
  assert.equal(r.dropped[0].rule, 'non_speech_audio');
  assert.equal(r.transcript.text, 'He might even have been made amiable himself.');
});

test("whisper tiny.en's real output on ALSA Noise.wav is dropped: the VAD hears no speech under it", async () => {
  // tiny.en transcribed /usr/share/sounds/alsa/Noise.wav (1.4 s of noise) as this, with confident log-probabilities
  const audio = decode16k(ALSA_NOISE);
  const t = transcript(
    'en',
    segment(0, ' He was a good one.', { start: 0, end: 0.7, avgLogprob: -0.24, noSpeechProb: 0.0 }),
    segment(1, ' He was a good one.', { start: 0.7, end: 1.4, avgLogprob: -0.0, noSpeechProb: 0.0 }),
  );
  const r = await new HallucinationFilter().filter(t, { audio, vad: model.createDetector() });
  assert.deepEqual(
    r.dropped.map((d) => d.rule),
    ['non_speech_audio', 'non_speech_audio'],
  );
  assert.equal(r.transcript.text, '');
});

test('repetition loops: repeated n-grams and compression ratio over 2.4', async () => {
  assert.equal((await one('en', " I'm sorry. I'm sorry. I'm sorry. I'm sorry.")).dropped[0].rule, 'repetition');
  assert.equal((await one('en', ' the the the the the')).dropped[0].rule, 'repetition');
  assert.equal((await one('ko', ' 그래서 그래서 그래서 그래서 그래서 그래서')).dropped[0].rule, 'repetition');
  const loop = '그러니까 우리가 지금 해야 할 일은 ' + '이것을 정리하는 것입니다 '.repeat(2) + '그리고 다시 '.repeat(12);
  const r = await one('ko', loop);
  assert.ok(['repetition', 'compression_ratio'].includes(r.dropped[0].rule), r.dropped[0].rule);
  // the engine's own compression ratio is honoured
  assert.equal((await one('en', ' It was a sunny day in the park.', { compressionRatio: 2.9 })).dropped[0].rule, 'compression_ratio');
  // ordinary speech with a repeated word is not a loop
  assert.equal((await one('en', ' No, no, I said the red one, not the blue one.')).dropped.length, 0);
  const rep = longestRepetition(repetitionTokens("I'm sorry, I'm sorry, I'm sorry"));
  assert.deepEqual(rep, { gram: ['im', 'sorry'], times: 3, coverage: 1 });
});

test("Whisper's no-speech rule and very low log-probability", async () => {
  assert.equal((await one('en', ' Hello there.', { noSpeechProb: 0.8, avgLogprob: -1.3 })).dropped[0].rule, 'no_speech');
  assert.equal((await one('en', ' Hello there.', { noSpeechProb: 0.8, avgLogprob: -0.4 })).dropped.length, 0);
  assert.equal((await one('en', ' Hello there.', { noSpeechProb: 0.1, avgLogprob: -2.6 })).dropped[0].rule, 'low_logprob');
});

test('engines without decoder statistics (Moonshine): the rules that need them are skipped, the others still apply', async () => {
  const bare = { avgLogprob: undefined, noSpeechProb: undefined };
  assert.equal((await one('en', ' Hello there.', bare)).dropped.length, 0);
  assert.equal((await one('en', " I'm sorry, I'm sorry, I'm sorry, I'm sorry, I'm sorry.", bare)).dropped[0].rule, 'repetition');
  // a quiet-only phrase with no audio and no no-speech probability: nothing says it was quiet, so it stays
  assert.equal((await one('en', 'Thank you.', bare)).transcript.segments.length, 1);
});

test('real speech passes untouched (same object, nothing counted)', async () => {
  const stats = new FilterStats();
  const filter = new HallucinationFilter({}, stats);
  const t = transcript('en', segment(0, ' he was not an ill disposed young man'), segment(1, ' unless to be rather cold hearted'));
  const r = await filter.filter(t);
  assert.equal(r.transcript, t);
  assert.deepEqual(r.dropped, []);
  assert.deepEqual(stats.snapshot(), { checked: 2, dropped: 0, trimmed: 0, byRule: {}, byPattern: {} });
});

test('extra phrases and regexes per language from config; builtins can be turned off', async () => {
  const filter = new HallucinationFilter({ phrases: { ko: ['광고 문의는 아래로'] }, patterns: { '*': ['www\\.example\\.(com|org).*'] } });
  assert.equal((await filter.filter(transcript('ko', segment(0, '광고 문의는 아래로!')))).dropped[0].pattern, 'ko:광고 문의는 아래로');
  assert.equal((await filter.filter(transcript('en', segment(0, 'www.example.org/signup')))).dropped[0].rule, 'phrase');
  const plain = new HallucinationFilter({ builtins: false });
  assert.equal((await plain.filter(transcript('en', segment(0, 'Thanks for watching!')))).dropped.length, 0);
  assert.throws(() => new HallucinationFilter({ patterns: { en: ['(unclosed'] } }), /bad pattern/);
  assert.equal((await new HallucinationFilter({ enabled: false }).filter(transcript('en', segment(0, '[Music]')))).dropped.length, 0);
});

test('every drop is counted per rule and per pattern', async () => {
  const stats = new FilterStats();
  const filter = new HallucinationFilter({}, stats);
  await filter.filter(
    transcript(
      'ko',
      segment(0, '시청해주셔서 감사합니다.'),
      segment(1, '시청해 주셔서 감사합니다'),
      segment(2, '네 좋습니다. 구독과 좋아요'),
      segment(3, '그래서 그래서 그래서 그래서 그래서'),
      segment(4, '회의를 시작하겠습니다.'),
    ),
  );
  const snap = stats.snapshot();
  assert.equal(snap.checked, 5);
  assert.equal(snap.dropped, 3);
  assert.equal(snap.trimmed, 1);
  assert.deepEqual(snap.byRule, { phrase: 2, phrase_trailing: 1, repetition: 1 });
  assert.equal(snap.byPattern['ko:시청해주셔서 감사합니다'], 2);
  assert.equal(snap.byPattern['ko:구독과 좋아요'], 1);
});

test('filterTranscript uses the transcript language when none (or auto) is asked for', async () => {
  const r = await filterTranscript(transcript('ko', segment(0, '시청해주셔서 감사합니다')), { language: 'auto' });
  assert.equal(r.dropped.length, 1);
  const en = await filterTranscript(transcript('en', segment(0, '시청해주셔서 감사합니다')), { language: 'en' });
  assert.equal(en.dropped.length, 0, 'Korean list applies to Korean only');
});
