// transcribe + audio-start/chunk/stop → transcript-start, transcript-chunk (live, append-only),
// transcript, transcript-stop; voice-started/voice-stopped from the VAD on the way.
import { AppendOnlyTranscript } from '../../pipeline/policy/append-only.js';
import type { LiveSession } from '../../app/live-sessions.js';

export type Send = (type: string, data?: Record<string, unknown>) => void;

export class AsrStream {
  private readonly text = new AppendOnlyTranscript();
  private language: string | undefined;

  constructor(
    private readonly live: LiveSession,
    private readonly send: Send,
  ) {
    this.language = live.info.language ?? undefined;
    const s = live;
    s.on('speech_start', (e) => send('voice-started', { timestamp: Math.round(e.start * 1000) }));
    s.on('speech_end', (e) => send('voice-stopped', { timestamp: Math.round(e.end * 1000) }));
    s.on('partial', (e) => this.chunk(this.text.partial(e.utteranceId, e.committed)));
    s.on('final', (e) => {
      this.language = e.language || this.language;
      this.chunk(this.text.final(e.utteranceId, e.text));
    });
    s.on('dropped', (e) => this.text.end(e.utteranceId));
    s.on('error', (e) => {
      if (e.fatal) send('error', { text: `transcription failed: ${e.message}`, code: e.code });
    });
    send('transcript-start', this.language ? { language: this.language } : {});
  }

  get sessionId(): string {
    return this.live.id;
  }

  push(samples: Float32Array): void {
    if (samples.length > 0 && !this.live.isClosed) this.live.push(samples);
  }

  /** audio-stop: every utterance decoded, then the whole transcript. */
  async finish(): Promise<void> {
    await this.live.stop();
    const data: Record<string, unknown> = { text: this.text.value };
    if (this.language) data.language = this.language;
    this.send('transcript', data);
    this.send('transcript-stop');
  }

  close(): void {
    this.live.close();
  }

  private chunk(delta: string): void {
    if (delta) this.send('transcript-chunk', { text: delta });
  }
}
