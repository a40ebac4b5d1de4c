// SIGTERM while a long transcription runs and a live stream is mid-utterance: the request completes,
// the stream gets the final of the audio it sent and a close frame with a reason, the process exits 0.
// A second signal exits at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { loadClip } from '../helpers/audio.js';
import { connectLive, longSpeechWav, sendAudio } from '../helpers/live.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');

async function waitBusy(server: TestServer): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const h = (await (await fetch(`${server.url}/health`)).json()) as { busy?: number };
    if ((h.busy ?? 0) >= 1) return;
    assert.ok(Date.now() < deadline, 'the transcription never started');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exitOf = (server: TestServer) =>
  new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (server.child.exitCode !== null) resolve({ code: server.child.exitCode, signal: null });
    server.child.once('exit', (code, signal) => resolve({ code, signal }));
  });

describe('graceful shutdown', () => {
  it('SIGTERM: the long transcription completes, the live stream gets its last final and close 1001, exit 0', async () => {
    const server = await startServer({ env: { EARSHOT_SHUTDOWN_GRACE_SECONDS: '180', EARSHOT_LOG_LEVEL: 'info' } });
    try {
      const body = await longSpeechWav(45);
      const transcription = fetch(`${server.url}/transcribe?language=en`, { method: 'POST', body, headers: { 'content-type': 'audio/wav' } });

      // a live stream in the middle of an utterance: speech sent, no trailing silence, so no final yet
      const clip = clips.find((c) => c.id.endsWith('0920'))!;
      const live = await connectLive(`${server.url.replace('http', 'ws')}/ws`);
      live.ws.send(JSON.stringify({ type: 'config', language: 'en', partials: false, enrich: false }));
      await live.next('ready');
      await sendAudio(live.ws, new Float32Array(8000));
      await sendAudio(live.ws, await loadClip(clip.path));
      await live.next('speech_start');
      await waitBusy(server);
      assert.equal(live.messages.filter((m) => m.type === 'final').length, 0, 'the utterance is still open');

      const exited = exitOf(server);
      server.child.kill('SIGTERM');

      const res = await transcription;
      assert.equal(res.status, 200, 'the in-flight request is answered');
      const json = (await res.json()) as { text: string; success: boolean };
      assert.ok(json.text.length > 200, 'with its whole transcript');

      const final = await live.next('final', 180_000);
      const c = werCount(clip.reference, String(final.text));
      assert.ok(c.errors / c.words <= 0.2, `final "${final.text}"`);
      const done = await live.next('done', 30_000);
      assert.equal(done.reason, 'server shutting down');
      const close = await live.closed;
      assert.equal(close.code, 1001);
      assert.equal(close.reason, 'server shutting down');

      const { code } = await exited;
      assert.equal(code, 0, server.output());
      assert.match(server.output(), /SIGTERM: shutting down/);
      assert.match(server.output(), /shut down \(1 live session closed\)/);
    } finally {
      await server.stop();
    }
  });

  it('a second signal exits at once, without waiting for the running transcription', async () => {
    const server = await startServer({ env: { EARSHOT_SHUTDOWN_GRACE_SECONDS: '180' } });
    try {
      const body = await longSpeechWav(60);
      const transcription = fetch(`${server.url}/transcribe?language=en`, { method: 'POST', body, headers: { 'content-type': 'audio/wav' } }).then(
        (r) => r.status,
        (err: Error) => err,
      );
      await waitBusy(server);
      const exited = exitOf(server);
      server.child.kill('SIGTERM');
      server.child.kill('SIGINT');
      const { code } = await exited;
      assert.equal(code, 1);
      const outcome = await transcription;
      assert.ok(outcome instanceof Error, `the request was cut, not answered (${String(outcome)})`);
    } finally {
      await server.stop();
    }
  });
});
