// The hallucination filter on what the real base model invents over silence, noise and
// machine-voiced Korean, and on real speech, which it must leave alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFile } from '../../src/audio/decode.js';
import { WhisperEngine } from '../../src/engines/whisper/engine.js';
import type { Transcript, TranscribeOptions } from '../../src/engines/types.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { ModelStore } from '../../src/models/store.js';
import { outputLanguage } from '../../src/pipeline/batch.js';
import { HallucinationFilter } from '../../src/pipeline/filter/index.js';
import { createVad, type CreatedVad } from '../../src/pipeline/vad/index.js';
import { TEST_MODEL } from '../helpers/server.js';

/** Deterministic low-level hiss (xorshift), like a quiet room through a cheap microphone. */
function hiss(seconds: number, amplitude: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * 16000));
  let x = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 0xffffffff - 0.5) * 2 * amplitude;
  }
  return out;
}

describe('hallucination filter on real model output', () => {
  let engine: WhisperEngine;
  let vad: CreatedVad;
  const filter = new HallucinationFilter();
  before(async () => {
    const model = await new ModelStore().get(TEST_MODEL);
    assert.ok(model, `model ${TEST_MODEL} missing: run npm run fetch:test-models`);
    engine = new WhisperEngine({ modelId: model.id, modelPath: model.path, threads: 2, parallel: 1, processes: 1, device: 'cpu' });
    await engine.ready();
    vad = await createVad();
  });
  after(async () => {
    await engine?.close();
    await vad?.close();
  });

  const run = async (audio: Float32Array, options: TranscribeOptions) => {
    const raw: Transcript = await engine.transcribe(audio, options);
    const filtered = await filter.filter(raw, { audio, vad: vad.create(), language: outputLanguage(options) });
    return { raw, filtered };
  };

  it('removes what Whisper invents over silence, noise and unintelligible speech', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-halluc-'));
    const korean = join(dir, 'ko.wav');
    execFileSync('espeak-ng', ['-v', 'ko', '-s', '120', '-w', korean, '감사합니다. 오늘 회의는 서울에서 열립니다. 내일 아침에 다시 만나요.']);
    const noise = (await decodeFile('/usr/share/sounds/alsa/Noise.wav')).samples;
    const cases: Array<{ name: string; audio: Float32Array; options: TranscribeOptions }> = [
      { name: 'digital silence', audio: new Float32Array(16000 * 8), options: { language: 'en' } },
      { name: 'quiet hiss', audio: hiss(8, 0.003), options: { language: 'ko' } },
      { name: 'ALSA Noise.wav', audio: noise, options: { language: 'en' } },
      { name: 'ALSA Noise.wav, Korean', audio: noise, options: { language: 'ko' } },
      // base cannot translate synthetic Korean: it answers with a YouTube outro it learned from subtitles.
      { name: 'espeak Korean, translated', audio: (await decodeFile(korean)).samples, options: { language: 'ko', task: 'translate' } },
    ];
    const invented: string[] = [];
    for (const c of cases) {
      const { raw, filtered } = await run(c.audio, c.options);
      if (raw.text.trim()) invented.push(`${c.name}: ${raw.text}`);
      assert.equal(filtered.transcript.text, '', `${c.name}: "${raw.text}" survived the filter as "${filtered.transcript.text}"`);
    }
    // The test is only meaningful if the model did invent something.
    assert.ok(invented.length >= 2, `the model invented too little to test: ${JSON.stringify(invented)}`);
    console.log(`invented and removed:\n  ${invented.join('\n  ')}`);
    const snapshot = filter.stats.snapshot();
    assert.ok(snapshot.dropped >= invented.length);
  });

  it('leaves every reference clip untouched', async () => {
    for (const clip of pocketsphinxClips()) {
      const audio = (await decodeFile(clip.path)).samples;
      const { raw, filtered } = await run(audio, { language: 'en' });
      assert.deepEqual(filtered.dropped, [], `${clip.id}: ${JSON.stringify(filtered.dropped)}`);
      assert.equal(filtered.transcript.text, raw.text);
    }
  });
});
