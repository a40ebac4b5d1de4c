// Microphone → AudioWorklet (16 kHz s16le) → /ws. Audio captured before the socket opens is kept
// and sent once it does, so the first words are not lost while connecting.
import { wsUrl } from '../api.js';
import { PCM_PROCESSOR, pcmWorkletUrl } from './worklet.js';

export type MicState = 'idle' | 'starting' | 'recording' | 'stopping';

export interface MicCallbacks {
  /** every JSON message from /ws (ready, partial, final, keywords, error, done...) */
  onMessage(msg: Record<string, unknown> & { type: string }): void;
  onLevel?(rms: number): void;
  onState(state: MicState, detail?: string): void;
}

export class MicStreamer {
  private stream?: MediaStream;
  private audio?: AudioContext;
  private node?: AudioWorkletNode;
  private socket?: WebSocket;
  private pending: ArrayBuffer[] = [];
  private state: MicState = 'idle';
  private doneWaiter?: () => void;

  constructor(private readonly callbacks: MicCallbacks) {}

  get current(): MicState {
    return this.state;
  }

  async start(options: { language?: string }): Promise<void> {
    if (this.state !== 'idle') return;
    this.setState('starting');
    try {
      if (!navigator.mediaDevices?.getUserMedia) {
        throw new Error('this page cannot use the microphone: browsers allow it only over HTTPS or on localhost');
      }
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      this.audio = new AudioContext({ latencyHint: 'interactive' });
      const url = pcmWorkletUrl();
      try {
        await this.audio.audioWorklet.addModule(url);
      } finally {
        URL.revokeObjectURL(url);
      }
      const source = this.audio.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.audio, PCM_PROCESSOR, {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { targetRate: 16000, chunkMs: 100 },
      });
      this.node.port.onmessage = (event: MessageEvent<{ type: string; pcm?: ArrayBuffer; level?: number }>) => {
        if (event.data.type !== 'chunk' || !event.data.pcm) return;
        this.callbacks.onLevel?.(event.data.level ?? 0);
        this.sendAudio(event.data.pcm);
      };
      // a silent path to the output keeps the graph (and the worklet) running in every browser
      const mute = this.audio.createGain();
      mute.gain.value = 0;
      source.connect(this.node).connect(mute).connect(this.audio.destination);
      if (this.audio.state === 'suspended') await this.audio.resume();
      this.openSocket(options.language);
      this.setState('recording');
    } catch (err) {
      this.teardownAudio();
      this.socket?.close();
      this.setState('idle', (err as Error).message);
      throw err;
    }
  }

  /** Stops capturing, lets the server finish the last utterance, resolves when it said "done". */
  async stop(): Promise<void> {
    if (this.state !== 'recording') return;
    this.setState('stopping');
    if (this.node) {
      const flushed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.node!.port.addEventListener('message', (e: MessageEvent<{ type: string }>) => {
          if (e.data.type === 'flushed') {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      this.node.port.postMessage('stop');
      await flushed;
    }
    this.teardownAudio();
    const socket = this.socket;
    if (socket && socket.readyState <= WebSocket.OPEN) {
      const done = new Promise<void>((resolve) => (this.doneWaiter = resolve));
      const sendStop = () => socket.send(JSON.stringify({ type: 'stop' }));
      if (socket.readyState === WebSocket.OPEN) sendStop();
      else socket.addEventListener('open', sendStop);
      // the last utterance may take a while to decode on a busy CPU
      await Promise.race([done, new Promise((r) => setTimeout(r, 120_000))]);
      socket.close();
    }
    this.setState('idle');
  }

  private openSocket(language: string | undefined): void {
    const socket = new WebSocket(wsUrl('/ws'));
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'config', language: language || undefined, sample_rate: 16000, encoding: 'pcm_s16le', partials: true, enrich: true }));
      // the server handles messages in order: audio queued meanwhile follows the config
      for (const chunk of this.pending) socket.send(chunk);
      this.pending = [];
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let msg: Record<string, unknown> & { type: string };
      try {
        msg = JSON.parse(event.data) as typeof msg;
      } catch {
        return;
      }
      this.callbacks.onMessage(msg);
      if (msg.type === 'done') this.doneWaiter?.();
    };
    socket.onclose = (event) => {
      this.doneWaiter?.();
      if (this.state === 'recording' || this.state === 'starting') {
        this.teardownAudio();
        this.setState('idle', event.code === 1000 ? undefined : `connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
      }
    };
  }

  private sendAudio(pcm: ArrayBuffer): void {
    const socket = this.socket;
    if (socket?.readyState === WebSocket.OPEN) socket.send(pcm);
    else if (!socket || socket.readyState === WebSocket.CONNECTING) this.pending.push(pcm);
  }

  private teardownAudio(): void {
    this.node?.port.close();
    this.node?.disconnect();
    this.node = undefined;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = undefined;
    void this.audio?.close().catch(() => undefined);
    this.audio = undefined;
  }

  private setState(state: MicState, detail?: string): void {
    this.state = state;
    this.callbacks.onState(state, detail);
  }
}
