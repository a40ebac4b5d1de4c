// The CTranslate2 engine: Earshot's Python worker running the model's CTranslate2 weights (the same
// weights as its ggml file), driven by the same pool as whisper.cpp: text, times, words, cancellation,
// crash isolation, and the measured engine choice that is kept in the store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFile } from '../../src/audio/decode.js';
import { createCt2Engine } from '../../src/engines/ct2/engine.js';
import { ensureCt2Runtime } from '../../src/engines/ct2/runtime.js';
import { ProbeCache, selectEngine } from '../../src/engines/select.js';
import { EngineError } from '../../src/engines/types.js';
import { WhisperEngine } from '../../src/engines/whisper/engine.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { ct2WeightsOf } from '../../src/models/ct2-weights.js';
import { ModelStore, type InstalledModel } from '../../src/models/store.js';
import { TEST_MODEL } from '../helpers/server.js';

describe('CTranslate2 engine', () => {
  let model: InstalledModel;
  let python: string;
  let engine: WhisperEngine;
  let audio: Float32Array;
  let reference: string;
  before(async () => {
    const store = new ModelStore();
    model = (await store.get(TEST_MODEL))!;
    assert.ok(model, `model ${TEST_MODEL} missing: run npm run fetch:test-models`);
    assert.ok(ct2WeightsOf(model.dir), `${TEST_MODEL} keeps no CTranslate2 weights: run npm run fetch:test-models`);
    python = await ensureCt2Runtime({ home: store.home, install: true });
    engine = createCt2Engine({
      modelId: model.id,
      modelDir: ct2WeightsOf(model.dir)!,
      python,
      threads: 2,
      parallel: 1,
      processes: 1,
      device: 'cpu',
      abortGraceMs: 30_000,
    });
    await engine.ready();
    const clip = pocketsphinxClips().find((c) => c.set === 'librivox')!;
    audio = (await decodeFile(clip.path)).samples;
    reference = clip.reference;
  });
  after(async () => {
    await engine?.close();
  });

  it('transcribes real speech with segment and word times in the audio timeline', async () => {
    assert.equal(engine.info.kind, 'ct2');
    const t = await engine.transcribe(audio, { language: 'en', wordTimestamps: true });
    assert.equal(t.engine, 'ct2');
    const { errors, words } = werCount(reference, t.text);
    assert.ok(errors / words < 0.15, `"${t.text}"`);
    const all = t.segments.flatMap((s) => s.words ?? []);
    assert.ok(all.length >= words * 0.8);
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.start >= all[i - 1]!.start);
    assert.ok(t.segments.at(-1)!.end <= t.duration + 0.01);
  });

  it('detects the language when none is given', async () => {
    const t = await engine.transcribe(audio);
    assert.equal(t.language, 'en');
    assert.ok((t.languageProbs?.en ?? 0) > 0.5);
  });

  /** the clip repeated to span several 30 s windows */
  const long = () => {
    const times = Math.ceil((100 * 16000) / audio.length);
    const out = new Float32Array(audio.length * times);
    for (let i = 0; i < times; i++) out.set(audio, i * audio.length);
    return out;
  };

  it('cancels a long job at its next CTranslate2 pass without losing the worker', async () => {
    // The worker checks the abort flag around every encoder and decoder pass; the generous grace period shows it stopped by itself.
    const pid = engine.workerPids()[0];
    const controller = new AbortController();
    const job = engine.transcribe(long(), { language: 'en', signal: controller.signal, onSegment: () => controller.abort() });
    await assert.rejects(job, (err: unknown) => err instanceof EngineError && err.code === 'aborted');
    assert.deepEqual(engine.workerPids(), [pid]);
    assert.equal(engine.stats().restarts, 0);
  });

  it('isolates a crashed worker: its job fails, the next one runs on a fresh worker', async () => {
    const [pid] = engine.workerPids();
    let killed = false;
    const kill = () => {
      if (!killed) process.kill(pid!, 'SIGKILL');
      killed = true;
    };
    const job = engine.transcribe(long(), { language: 'en', onProgress: kill });
    const first = engine.transcribe(audio, { language: 'en' });
    await assert.rejects(job, (err: unknown) => err instanceof EngineError && err.code === 'worker_crashed');
    const next = await first;
    assert.ok(next.text.length > 20);
    assert.notDeepEqual(engine.workerPids(), [pid]);
  });

  it('decodes separate speech windows in one batched job, times on the audio timeline', async () => {
    const gap = 20 * 16000;
    const audio2 = new Float32Array(audio.length * 2 + gap);
    audio2.set(audio, 0);
    audio2.set(audio, audio.length + gap);
    const d = audio.length / 16000;
    const secondAt = (audio.length + gap) / 16000;
    const t = await engine.transcribe(audio2, {
      language: 'en',
      windows: [
        { start: 0, end: d },
        { start: secondAt, end: secondAt + d },
      ],
    });
    const { errors, words } = werCount(`${reference} ${reference}`, t.text);
    assert.ok(errors / words < 0.15, t.text);
    for (const s of t.segments) assert.ok(s.end <= d + 0.5 || s.start >= secondAt - 0.5, `segment ${s.start}–${s.end} lies in the gap`);
    assert.ok(t.segments.some((s) => s.start >= secondAt - 0.5));
  });

  it('auto: measures both engines once, keeps the answer, and then picks without measuring', async () => {
    const cache = new ProbeCache(join(mkdtempSync(join(tmpdir(), 'earshot-probe-')), 'engine-probes.json'));
    let created = 0;
    const deps = {
      choice: 'auto' as const,
      model,
      device: 'cpu' as const,
      threads: 2,
      cache,
      ct2Available: () => true,
      createWhisper: () => {
        created++;
        return new WhisperEngine({ modelId: model.id, modelPath: model.path, threads: 2, parallel: 1, processes: 1, device: 'cpu' });
      },
      createCt2: async () => {
        created++;
        return createCt2Engine({ modelId: model.id, modelDir: ct2WeightsOf(model.dir)!, python, threads: 2, parallel: 1, processes: 1, device: 'cpu' });
      },
    };
    const first = await selectEngine(deps);
    const probe = cache.get(ProbeCache.key(model, 'cpu', 2));
    assert.ok(probe && probe.whisper > 0 && probe.ct2 !== null && probe.ct2 > 0);
    assert.equal(first.info.kind, probe.winner);
    assert.equal(created, 2);
    await first.close();
    const second = await selectEngine(deps);
    assert.equal(second.info.kind, probe.winner);
    assert.equal(created, 3);
    await second.close();
  });

  it('auto offline: a CTranslate2 runtime that cannot install leaves whisper.cpp serving, and the next start does not try again', async () => {
    const cache = new ProbeCache(join(mkdtempSync(join(tmpdir(), 'earshot-probe-')), 'engine-probes.json'));
    // the real installer, pointed at a package index that refuses connections (what pip meets offline)
    const home = mkdtempSync(join(tmpdir(), 'earshot-offline-home-'));
    let installs = 0;
    const deps = {
      choice: 'auto' as const,
      model,
      device: 'cpu' as const,
      threads: 2,
      cache,
      ct2Available: () => true,
      createWhisper: () => new WhisperEngine({ modelId: model.id, modelPath: model.path, threads: 2, parallel: 1, processes: 1, device: 'cpu' }),
      createCt2: async () => {
        installs++;
        const offline = { ...process.env, PIP_INDEX_URL: 'http://127.0.0.1:9/simple', PIP_EXTRA_INDEX_URL: '', PIP_FIND_LINKS: '', PIP_RETRIES: '0' };
        const saved = { ...process.env };
        Object.assign(process.env, offline);
        try {
          const py = await ensureCt2Runtime({ home, install: true });
          return createCt2Engine({ modelId: model.id, modelDir: ct2WeightsOf(model.dir)!, python: py, threads: 2, parallel: 1, processes: 1, device: 'cpu' });
        } finally {
          for (const k of Object.keys(offline)) if (saved[k] === undefined) delete process.env[k];
          Object.assign(process.env, saved);
        }
      },
    };
    const first = await selectEngine(deps);
    assert.equal(first.info.kind, 'whisper');
    assert.equal((await first.transcribe(audio, { language: 'en' })).engine, 'whisper');
    await first.close();
    const probe = cache.get(ProbeCache.key(model, 'cpu', 2));
    assert.ok(probe && probe.ct2 === null && probe.winner === 'whisper', JSON.stringify(probe));
    assert.match(probe.ct2Error ?? '', /could not install the CTranslate2 runtime/);
    const second = await selectEngine(deps);
    assert.equal(second.info.kind, 'whisper');
    assert.equal(installs, 1, 'the failed install is remembered, not retried at every start');
    await second.close();
  });
});
