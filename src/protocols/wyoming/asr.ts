// transcribe + audio-start/chunk/stop → transcript-start, transcript-chunk (live, append-only),
// transcript, transcript-stop; voice-started/voice-stopped from the VAD on the way.
import { AppendOnlyTranscript } from '../../pipeline/policy/append-only.js';
import type { LiveStream } from '../live.js';

export type Send = (type: string, data?: Record<string, unknown>) => void;

export class AsrStream {
  private readonly text = new AppendOnlyTranscript();
  private language: string | undefined;
  private voiced = false;

  constructor(
    private readonly live: LiveStream,
    private readonly send: Send,
  ) {
    this.language = live.language;
    const s = live.session;
    s.on('speech_start', (e) => {
      this.voiced = true;
      send('voice-started', { timestamp: Math.round(e.start * 1000) });
    });
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
    send('transcript-start', live.language ? { language: live.language } : {});
  }

  get sessionId(): string {
    return this.live.id;
  }

  push(samples: Float32Array): void {
    if (samples.length > 0 && !this.live.session.isClosed) this.live.session.push(samples);
  }

  /** audio-stop: every utterance decoded, then the whole transcript. */
  async finish(): Promise<void> {
    await this.live.session.stop();
    const data: Record<string, unknown> = { text: this.text.value };
    if (this.language) data.language = this.language;
    this.send('transcript', data);
    this.send('transcript-stop');
    this.live.close();
  }

  get heardVoice(): boolean {
    return this.voiced;
  }

  close(): void {
    this.live.close();
  }

  private chunk(delta: string): void {
    if (delta) this.send('transcript-chunk', { text: delta });
  }
}
