// `earshot listen` end to end: audio input → wake-word listener → upload queue → printed transcript / --exec.
import type { Writable } from 'node:stream';
import { audioChunks } from './audio-input.js';
import type { ListenConfig } from '../config/listen.js';
import { WakewordDetector } from './detector.js';
import { runExec } from './exec.js';
import { HallucinationFilter } from '../pipeline/filter/index.js';
import { SileroVadModel } from '../pipeline/vad/index.js';
import { judgeTranscript } from './hallucination.js';
import { WakewordListener, type Detection } from './listener.js';
import { TurnEndpointer } from './turn.js';
import { transcribe, type TranscribeResult } from './transcribe-client.js';
import { UploadQueue } from './upload-queue.js';

export interface ClientIO {
  stdout: Writable;
  stderr: Writable;
}

export interface ClientSummary {
  detections: number;
  transcripts: number;
  failures: number;
  /** detections after which nobody spoke (nothing sent) */
  noSpeech: number;
  /** transcripts the hallucination filter dropped */
  filtered: number;
}

interface Job {
  detection: Detection;
  audio: Int16Array;
  recordingSeconds: number;
  endedBy: string;
}

export async function runListenClient(
  config: ListenConfig,
  io: ClientIO = { stdout: process.stdout, stderr: process.stderr },
  signal?: AbortSignal,
): Promise<ClientSummary> {
  const summary: ClientSummary = { detections: 0, transcripts: 0, failures: 0, noSpeech: 0, filtered: 0 };
  const line = (stream: Writable, text: string) => stream.write(`${text}\n`);
  const notice = (text: string) => line(io.stderr, `earshot listen: ${text}`);
  const emit = (event: Record<string, unknown>) => line(io.stdout, JSON.stringify(event));

  const detector = await WakewordDetector.create({ wakewords: config.wakewords, vad: config.vad });
  // The server's VAD: ends the turn, and gives the client-side filter its speech map.
  let vadModel: SileroVadModel | undefined;
  if (config.endpoint === 'vad' || config.filter) {
    try {
      vadModel = await SileroVadModel.load();
    } catch (err) {
      notice(`the speech VAD is unavailable (${(err as Error).message}); recordings end by level, transcripts are not filtered here`);
    }
  }
  const filter = config.filter && vadModel ? new HallucinationFilter() : undefined;
  const filterVad = vadModel?.createDetector();
  const queue = new UploadQueue<Job, TranscribeResult>({
    send: (job, abort) => transcribe({ server: config.server, audio: job.audio, language: config.language, apiKey: config.apiKey, signal: abort }),
    retryWindowMs: config.retryWindow * 1000,
    onRetry: (_job, error, delayMs, queued) => {
      notice(`${error.message}; retrying in ${(delayMs / 1000).toFixed(0)} s (${queued} utterance${queued === 1 ? '' : 's'} queued), still listening`);
      if (config.json) emit({ type: 'error', message: error.message, retrying: true, queued });
    },
    onFailure: (job, error) => {
      summary.failures++;
      notice(`transcription failed for the utterance at ${job.detection.streamTime.toFixed(2)} s: ${error.message}`);
      if (config.json) emit({ type: 'error', message: error.message, retrying: false, streamTime: job.detection.streamTime });
    },
    onResult: async (job, result, latencyMs) => {
      if (filter && filterVad && result.text.trim()) {
        const verdict = await judgeTranscript(filter, result, job.audio, filterVad, config.language);
        if (!verdict.text) {
          summary.filtered++;
          notice(`dropped "${result.text.trim()}": the hallucination filter judged it invented (${verdict.dropped.map((d) => d.rule).join(', ')})`);
          if (config.json)
            emit({
              type: 'filtered',
              text: result.text,
              reasons: verdict.dropped.map((d) => ({ rule: d.rule, pattern: d.pattern ?? null })),
              streamTime: round(job.detection.streamTime, 2),
            });
          return;
        }
      }
      summary.transcripts++;
      if (config.json) {
        emit({
          type: 'transcript',
          text: result.text,
          language: result.language,
          wakeword: job.detection.wakeword,
          score: round(job.detection.score, 4),
          detectedAt: job.detection.at.toISOString(),
          streamTime: round(job.detection.streamTime, 2),
          recordingSeconds: round(job.recordingSeconds, 2),
          endedBy: job.endedBy,
          serverLatencyMs: Math.round(latencyMs),
          segments: result.segments,
        });
      } else {
        line(io.stdout, result.text);
      }
      if (config.exec && result.text) {
        try {
          const code = await runExec(
            config.exec,
            { text: result.text, wakeword: job.detection.wakeword, language: result.language },
            { stdoutToStderr: config.json },
          );
          if (code !== 0) notice(`--exec exited with ${code}`);
        } catch (err) {
          notice((err as Error).message);
        }
      }
    },
  });

  // Ctrl-C stops retries too, so the client never hangs on an unreachable server at exit.
  signal?.addEventListener('abort', () => queue.close(), { once: true });
  const endpointer = config.endpoint === 'vad' && vadModel ? new TurnEndpointer(vadModel.createDetector(), config) : undefined;
  const listener = new WakewordListener(detector, config, undefined, endpointer);
  const source = config.input === 'mic' ? `microphone${config.device ? ` ${config.device}` : ''}` : config.input === '-' ? 'stdin' : config.input;
  notice(`listening for ${detector.labels.join(', ')} (threshold ${config.threshold}) on ${source}; server ${config.server}`);
  try {
    const chunks = audioChunks({ input: config.input, device: config.device, realtime: config.realtime, onNotice: notice, signal });
    for await (const event of listener.run(chunks)) {
      if (event.type === 'detection') {
        summary.detections++;
        const d = event.detection;
        notice(`wake word ${d.wakeword} (score ${d.score.toFixed(3)}) at ${d.streamTime.toFixed(2)} s; recording`);
        if (config.json)
          emit({ type: 'detection', wakeword: d.wakeword, score: round(d.score, 4), detectedAt: d.at.toISOString(), streamTime: round(d.streamTime, 2) });
      } else if (event.type === 'no-speech') {
        // people change their minds: no error, nothing sent
        summary.noSpeech++;
        notice(`no speech within ${config.speechTimeout} s of the wake word; listening again`);
      } else if (event.type === 'utterance') {
        if (signal?.aborted) break; // stopped mid-sentence: nothing worth sending
        notice(`recorded ${event.recordingSeconds.toFixed(1)} s (ended by ${event.endedBy}); transcribing`);
        queue.enqueue({ detection: event.detection, audio: event.audio, recordingSeconds: event.recordingSeconds, endedBy: event.endedBy });
      }
    }
    // Input ended (file or stdin): deliver what is still queued before returning.
    if (queue.size) notice(`input ended; waiting for ${queue.size} transcription${queue.size === 1 ? '' : 's'}`);
    await queue.drain();
  } finally {
    queue.close();
    await detector.release();
    await vadModel?.close();
  }
  return summary;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
