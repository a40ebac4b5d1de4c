// A bounded, seeded fuzzer for Earshot's streaming interfaces: /ws, /v1/realtime, /api/monitor
// (WebSocket) and Wyoming (TCP). Each case is a short script drawn from a PRNG: valid frames, the same
// frames mutated (wrong types, missing or extra fields, huge strings, deep nesting, half frames),
// binary where text is expected and the reverse, oversized frames, and an abrupt close at a random step.
// A case passes when the server answers every misuse the protocol's way (an error message or a close
// with a client-error code), never reports an internal error, and — unless the case hung up — still
// answers a well-formed probe on the same connection (the connection is not wedged).
// The same seed gives the same cases: a failure prints the seed and case number to replay it.
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { encodeEvent, WyomingDecoder, type WyomingEvent } from '../../src/protocols/wyoming/framing.js';

export type FuzzInterface = 'ws' | 'realtime' | 'monitor' | 'wyoming';

export interface FuzzTarget {
  /** http://host:port of the Earshot server */
  url: string;
  /** tcp://host:port of its Wyoming server */
  wyoming?: string;
}

export interface FuzzResult {
  iface: FuzzInterface;
  seed: number;
  cases: number;
  frames: number;
  /** error messages/events the server answered with */
  errorReplies: number;
  /** close codes the server sent, by code ('hangup' = the case closed first) */
  closes: Record<string, number>;
  failures: string[];
  ms: number;
}

/** mulberry32: small, fast, good enough to draw cases from, and reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Draw {
  constructor(readonly r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.r() * 256);
    return b;
  }
  /** any JSON value, sometimes a nasty one */
  value(depth = 0): unknown {
    const k = this.int(0, depth > 2 ? 6 : 9);
    switch (k) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 16000, 24000, 1, 8000]);
      case 3:
        return this.pick(['', 'en', 'xx-YY', 'config', 'audio', '\u0000', '../../etc/passwd', '<script>alert(1)</script>', 'é'.repeat(50)]);
      case 4:
        return 'A'.repeat(this.int(1, 5000));
      case 5:
        return this.pick(['AAAA', 'AAA', '!!!!', 'QUJD', '====']);
      case 6:
        return this.int(-5, 100000);
      case 7:
        return Array.from({ length: this.int(0, 4) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(0, 4); i > 0; i--)
          o[this.pick(['type', 'data', 'session', 'audio', 'x', '__proto__', 'constructor', 'vad'])] = this.value(depth + 1);
        return o;
      }
    }
  }
  /** `{"a":{"a":…}}` nested `depth` levels, as text (built by hand: JSON.stringify would recurse) */
  deepJson(depth: number, inner = '1'): string {
    return '{"type":"config","vad":'.concat('{"a":'.repeat(depth), inner, '}'.repeat(depth), '}');
  }
}

/** Mutations of one valid JSON message. Returns the text to send and whether it is certainly invalid. */
function mutateJson(d: Draw, valid: Record<string, unknown>): { text: string; invalid: boolean } {
  const m = d.int(0, 10);
  const copy: Record<string, unknown> = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
  const keys = Object.keys(copy);
  switch (m) {
    case 0:
      return { text: JSON.stringify(copy), invalid: false };
    case 1: {
      const k = d.pick(keys);
      copy[k] = d.value();
      return { text: JSON.stringify(copy), invalid: false };
    }
    case 2:
      delete copy[d.pick(keys)];
      return { text: JSON.stringify(copy), invalid: false };
    case 3:
      copy[d.pick(['extra', 'sample_rate', 'model', 'language', 'session', 'audio'])] = d.value();
      return { text: JSON.stringify(copy), invalid: false };
    case 4: {
      const t = JSON.stringify(copy);
      return { text: t.slice(0, d.int(0, Math.max(0, t.length - 1))), invalid: true }; // half a message
    }
    case 5:
      return { text: JSON.stringify(d.value()), invalid: false };
    case 6:
      return { text: d.deepJson(d.pick([50, 1000, 20000])), invalid: false };
    case 7:
      return { text: JSON.stringify({ ...copy, type: d.value() }), invalid: false };
    case 8:
      return { text: JSON.stringify({ ...copy, [d.pick(keys)]: 'x'.repeat(d.pick([70_000, 300_000, 1_100_000])) }), invalid: false };
    case 9:
      return { text: d.pick(['', ' ', 'null', '[]', '"str"', '1', 'true', '{', '}{', '{"type":}']), invalid: true };
    default:
      return { text: `[${'['.repeat(d.pick([10, 5000, 100_000]))}${']'.repeat(0)}`, invalid: true };
  }
}

function pcm16(seconds: number, rate: number, d: Draw): Buffer {
  const n = Math.round(seconds * rate);
  const b = Buffer.alloc(n * 2);
  const f = d.int(100, 2000);
  const amp = d.pick([0, 200, 8000, 32767]);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * f * i) / rate)), i * 2);
  return b;
}

// ------------------------------------------------------------------------------------------------
// WebSocket interfaces

type WsStep =
  | { kind: 'text'; text: string; invalid: boolean }
  | { kind: 'binary'; data: Buffer; invalid: boolean }
  /** a WebSocket frame header promising more bytes than follow, then the TCP connection drops */
  | { kind: 'half-frame' }
  | { kind: 'terminate' }
  | { kind: 'close'; code: number };

function wsSteps(iface: 'ws' | 'realtime' | 'monitor', d: Draw): WsStep[] {
  const steps: WsStep[] = [];
  const n = d.int(1, 6);
  const templates: Record<string, Array<Record<string, unknown>>> = {
    ws: [
      { type: 'config', language: 'en', sample_rate: 16000, encoding: 'pcm_s16le', partials: true },
      { type: 'config', sample_rate: 48000, encoding: 'pcm_f32le', vad: { threshold: 0.5, min_silence_ms: 300 } },
      { type: 'audio', data: pcm16(0.05, 16000, d).toString('base64') },
      { type: 'flush' },
      { type: 'stop' },
    ],
    realtime: [
      { type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: null } } } },
      { type: 'transcription_session.update', session: { input_audio_format: 'pcm16', turn_detection: { type: 'server_vad' } } },
      { type: 'input_audio_buffer.append', audio: pcm16(0.05, 24000, d).toString('base64') },
      { type: 'input_audio_buffer.commit' },
      { type: 'input_audio_buffer.clear' },
    ],
    monitor: [{ type: 'subscribe' }, { hello: 'world' }],
  };
  for (let i = 0; i < n; i++) {
    const roll = d.r();
    if (roll < 0.5) {
      steps.push({ kind: 'text', ...mutateJson(d, d.pick(templates[iface]!)) });
    } else if (roll < 0.72) {
      // binary: audio where audio is expected (/ws), binary where text is expected (realtime, monitor)
      const size = d.pick([0, 1, 3, 320, 3200, 32_000, 1_100_000]);
      const data = d.chance(0.5) ? pcm16(size / 32000, 16000, d).subarray(0, size) : d.bytes(Math.min(size, 70_000));
      steps.push({ kind: 'binary', data, invalid: iface !== 'ws' || data.length % 2 === 1 || data.length > 1024 * 1024 });
    } else if (roll < 0.8) {
      steps.push({ kind: 'binary', data: Buffer.from(JSON.stringify(d.pick(templates[iface]!))), invalid: iface !== 'ws' });
    } else if (roll < 0.86) {
      // invalid UTF-8 in a text frame: the WebSocket layer itself must refuse it (1007)
      steps.push({ kind: 'text', text: '\u0000', invalid: false });
    } else if (roll < 0.9) {
      steps.push({ kind: 'half-frame' });
      break;
    } else if (roll < 0.95) {
      steps.push({ kind: 'terminate' });
      break;
    } else {
      steps.push({ kind: 'close', code: d.pick([1000, 1001, 3000, 4999]) });
      break;
    }
  }
  return steps;
}

/** What a WebSocket case must see, per interface: how errors look and what probe proves it alive. */
const WS_RULES = {
  ws: {
    path: '/ws',
    isError: (m: Record<string, unknown>) => m.type === 'error',
    isInternal: (m: Record<string, unknown>) => m.type === 'error' && /internal/.test(String(m.code)),
    probe: JSON.stringify({ type: 'stop' }),
    probeAnswered: (m: Record<string, unknown>) => m.type === 'done',
  },
  realtime: {
    path: '/v1/realtime?intent=transcription',
    isError: (m: Record<string, unknown>) => m.type === 'error',
    isInternal: (m: Record<string, unknown>) => m.type === 'error' && /server_error|internal/.test(JSON.stringify((m as { error?: unknown }).error ?? '')),
    probe: JSON.stringify({ type: 'input_audio_buffer.clear', event_id: 'probe' }),
    probeAnswered: (m: Record<string, unknown>) => m.type === 'input_audio_buffer.cleared',
  },
  monitor: {
    path: '/api/monitor',
    isError: () => false,
    isInternal: () => false,
    probe: undefined,
    probeAnswered: (m: Record<string, unknown>) => m.type === 'snapshot' || m.type === 'status',
  },
} as const;

/** Close codes a server may use to end a misbehaving client's connection (1011 is a server fault). */
const CLIENT_FAULT_CLOSES = new Set([1000, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1001, 4429]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function wsCase(target: FuzzTarget, iface: 'ws' | 'realtime' | 'monitor', d: Draw, res: FuzzResult, label: string): Promise<void> {
  const rules = WS_RULES[iface];
  const steps = wsSteps(iface, d);
  const ws = new WebSocket(target.url.replace(/^http/, 'ws') + rules.path, { maxPayload: 64 * 1024 * 1024 });
  const messages: Array<Record<string, unknown>> = [];
  let errors = 0;
  let closeCode: number | undefined;
  let hungUp = false;
  const closed = new Promise<void>((resolve) => {
    ws.on('close', (code) => {
      closeCode = code;
      resolve();
    });
    ws.on('error', () => undefined);
  });
  let answered: (() => void) | undefined;
  const probeSeen = new Promise<void>((resolve) => (answered = resolve));
  // the probe's answer is the one after the answers to any same-typed message the case sent itself
  const probeType = rules.probe ? (JSON.parse(rules.probe) as { type: string }).type : undefined;
  const sameAsProbe = steps.filter((s) => s.kind === 'text' && typeOf(s.text) === probeType).length;
  let probeAnswers = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      res.failures.push(`${label}: server sent a binary frame`);
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(data.toString()) as Record<string, unknown>;
    } catch {
      res.failures.push(`${label}: server sent non-JSON text ${data.toString().slice(0, 80)}`);
      return;
    }
    messages.push(m);
    if (rules.isError(m)) {
      errors++;
      res.errorReplies++;
    }
    if (rules.isInternal(m)) res.failures.push(`${label}: internal error reply ${JSON.stringify(m).slice(0, 300)}`);
    if (rules.probeAnswered(m) && ++probeAnswers > (rules.probe ? sameAsProbe : 0)) answered?.();
  });
  const opened = await Promise.race([new Promise<boolean>((r) => ws.once('open', () => r(true))), closed.then(() => false), sleep(10_000).then(() => false)]);
  if (!opened) {
    res.failures.push(`${label}: connection not opened (close ${closeCode})`);
    ws.terminate();
    return;
  }
  let sentInvalid = 0;
  for (const step of steps) {
    if (ws.readyState !== ws.OPEN) break;
    res.frames++;
    switch (step.kind) {
      case 'text':
        if (step.text === '\u0000') {
          // a text frame with a lone continuation byte: bypass ws's own encoding
          sendRawFrame(ws, 0x1, Buffer.from([0xc3, 0x28]));
        } else ws.send(step.text);
        if (step.invalid) sentInvalid++;
        break;
      case 'binary':
        ws.send(step.data, { binary: true });
        if (step.invalid) sentInvalid++;
        break;
      case 'half-frame':
        rawSocket(ws)?.write(Buffer.from([0x82, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 9, 9]));
        rawSocket(ws)?.destroy();
        hungUp = true;
        break;
      case 'terminate':
        ws.terminate();
        hungUp = true;
        break;
      case 'close':
        ws.close(step.code);
        hungUp = true;
        break;
    }
    if (d.chance(0.3)) await sleep(d.int(0, 30));
  }
  if (!hungUp && ws.readyState === ws.OPEN) {
    if (rules.probe) ws.send(rules.probe);
    // ordered handling: the probe's answer comes after the answers to everything sent before it
    const outcome = await Promise.race([
      probeSeen.then(() => 'answered'),
      closed.then(() => 'closed'),
      sleep(iface === 'monitor' ? 5_000 : 30_000).then(() => 'timeout'),
    ]);
    if (outcome === 'timeout') res.failures.push(`${label}: no answer to the probe within the deadline (wedged?) after ${describeSteps(steps)}`);
    if (outcome === 'closed' && closeCode !== undefined && !CLIENT_FAULT_CLOSES.has(closeCode)) {
      res.failures.push(`${label}: closed with ${closeCode} after ${describeSteps(steps)}`);
    }
    if (sentInvalid > 0 && iface !== 'monitor' && errors === 0 && outcome !== 'closed') {
      res.failures.push(`${label}: ${sentInvalid} invalid frame(s) and no error reply: ${describeSteps(steps)}`);
    }
  }
  const serverClosed = ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING;
  if (ws.readyState === ws.OPEN) ws.close(1000);
  await Promise.race([closed, sleep(2000)]);
  if (ws.readyState !== ws.CLOSED) ws.terminate();
  const key = hungUp ? 'hangup' : serverClosed ? String(closeCode ?? 'none') : 'probe-answered';
  res.closes[key] = (res.closes[key] ?? 0) + 1;
  if (process.env.EARSHOT_FUZZ_TRACE) console.log(label, key, describeSteps(steps), JSON.stringify(messages).slice(0, 400));
  if (!hungUp && serverClosed && closeCode !== undefined && !CLIENT_FAULT_CLOSES.has(closeCode)) {
    res.failures.push(`${label}: server closed with ${closeCode}: ${describeSteps(steps)} — last messages ${JSON.stringify(messages.slice(-2)).slice(0, 300)}`);
  }
}

function typeOf(text: string): unknown {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? (v as { type?: unknown }).type : undefined;
  } catch {
    return undefined;
  }
}

function rawSocket(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/** A masked client frame written straight to the socket (for payloads ws would not produce). */
function sendRawFrame(ws: WebSocket, opcode: number, payload: Buffer): void {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  rawSocket(ws)?.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
}

function describeSteps(steps: WsStep[]): string {
  return steps
    .map((s) => {
      if (s.kind === 'text') return `text(${s.text.length}:${s.text.slice(0, 60)})`;
      if (s.kind === 'binary') return `binary(${s.data.length})`;
      if (s.kind === 'close') return `close(${s.code})`;
      return s.kind;
    })
    .join(' → ');
}

// ------------------------------------------------------------------------------------------------
// Wyoming (TCP): header line, data bytes, payload bytes

type TcpStep = { bytes: Buffer; invalid: boolean; fatal: boolean } | { hangup: true };

function wyomingSteps(d: Draw): TcpStep[] {
  const steps: TcpStep[] = [];
  const audioStart = (rate: unknown, width: unknown, channels: unknown) => encodeEvent('audio-start', { rate, width, channels } as Record<string, unknown>);
  const valid = () =>
    d.pick([
      () => encodeEvent('describe'),
      () => encodeEvent('transcribe', { language: d.pick(['en', 'xx', '', 'en-US']) }),
      () => audioStart(16000, 2, 1),
      () => encodeEvent('audio-chunk', { rate: 16000, width: 2, channels: 1 }, pcm16(0.05, 16000, d)),
      () => encodeEvent('audio-stop'),
      () => encodeEvent('ping', { text: 'x' }),
      () => encodeEvent('detect', { names: ['hey_jarvis'] }),
    ])();
  const n = d.int(1, 6);
  for (let i = 0; i < n; i++) {
    const roll = d.r();
    if (roll < 0.35) steps.push({ bytes: valid(), invalid: false, fatal: false });
    else if (roll < 0.5)
      steps.push({
        bytes: audioStart(d.pick([1, 0, -16000, 1e9, '16000', null, 384000]), d.pick([0, 2, 7, 'two']), d.pick([0, 2, 8, 1000])),
        invalid: false,
        fatal: false,
      });
    else if (roll < 0.6)
      steps.push({ bytes: encodeEvent(JSON.stringify(d.value()) ?? 'x', d.value() as Record<string, unknown>), invalid: false, fatal: false });
    else if (roll < 0.68) {
      const line = Buffer.from(`${mutateJson(d, { type: 'describe' }).text.replace(/\n/g, ' ')}\n`);
      steps.push({ bytes: line, invalid: false, fatal: false });
    } else if (roll < 0.74) {
      // lengths that lie: more data than announced limits, negative, fractional, strings
      const header = { type: 'audio-chunk', data_length: d.pick([-1, 1.5, '10', 2 ** 40, 5_000_000]), payload_length: d.pick([0, -5, 99_999_999]) };
      steps.push({ bytes: Buffer.from(`${JSON.stringify(header)}\n`), invalid: true, fatal: true });
      break;
    } else if (roll < 0.8) {
      steps.push({ bytes: Buffer.concat([d.bytes(d.int(1, 200)), Buffer.from('\n')]), invalid: true, fatal: true });
      break;
    } else if (roll < 0.86) {
      // a header line with no newline, longer than the cap
      steps.push({ bytes: Buffer.from(`{"type":"${'x'.repeat(70_000)}`), invalid: true, fatal: true });
      break;
    } else if (roll < 0.93) {
      // half a frame (payload announced, partly sent), then the client goes
      const full = encodeEvent('audio-chunk', { rate: 16000, width: 2, channels: 1 }, pcm16(0.1, 16000, d));
      steps.push({ bytes: full.subarray(0, d.int(1, full.length - 1)), invalid: false, fatal: false });
      steps.push({ hangup: true });
      break;
    } else {
      steps.push({ hangup: true });
      break;
    }
  }
  return steps;
}

async function wyomingCase(target: FuzzTarget, d: Draw, res: FuzzResult, label: string): Promise<void> {
  const u = new URL(target.wyoming!.replace(/^tcp:/, 'http:'));
  const steps = wyomingSteps(d);
  const sock = connect(Number(u.port), u.hostname);
  const decoder = new WyomingDecoder({ maxHeaderBytes: 1 << 20, maxDataBytes: 16 << 20, maxPayloadBytes: 64 << 20 });
  const events: WyomingEvent[] = [];
  let closedByServer = false;
  let hungUp = false;
  let probed = false;
  let gotInfo: (() => void) | undefined;
  const info = new Promise<void>((r) => (gotInfo = r));
  const closed = new Promise<void>((resolve) => {
    sock.on('close', () => {
      if (!hungUp) closedByServer = true;
      resolve();
    });
  });
  sock.on('error', () => undefined);
  sock.on('data', (chunk: Buffer) => {
    try {
      for (const e of decoder.push(chunk)) {
        events.push(e);
        if (e.type === 'error') {
          res.errorReplies++;
          if (/internal/.test(String(e.data.code))) res.failures.push(`${label}: internal error event ${JSON.stringify(e.data).slice(0, 300)}`);
        }
        if (e.type === 'info') gotInfo?.();
      }
    } catch (err) {
      res.failures.push(`${label}: server sent an unreadable frame (${(err as Error).message})`);
    }
  });
  await new Promise<void>((resolve) => {
    sock.once('connect', () => resolve());
    sock.once('error', () => resolve());
  });
  let fatal = false;
  let invalid = 0;
  for (const step of steps) {
    if (sock.destroyed) break;
    res.frames++;
    if ('hangup' in step) {
      hungUp = true;
      sock.destroy();
      break;
    }
    sock.write(step.bytes);
    if (step.invalid) invalid++;
    if (step.fatal) fatal = true;
    if (d.chance(0.3)) await sleep(d.int(0, 30));
  }
  if (!hungUp && !sock.destroyed) {
    if (fatal) {
      // the stream cannot be resynchronised: the server must say so and close
      const outcome = await Promise.race([closed.then(() => 'closed'), sleep(15_000).then(() => 'timeout')]);
      if (outcome === 'timeout') res.failures.push(`${label}: unreadable frame but the connection stays open: ${describeTcp(steps)}`);
      else if (invalid > 0 && !events.some((e) => e.type === 'error')) res.failures.push(`${label}: closed without an error event: ${describeTcp(steps)}`);
    } else {
      sock.write(encodeEvent('describe'));
      const outcome = await Promise.race([info.then(() => 'info'), closed.then(() => 'closed'), sleep(30_000).then(() => 'timeout')]);
      // a frame the server cannot read ends the connection, after an error event that says why
      if (outcome === 'closed' && !events.some((e) => e.type === 'error'))
        res.failures.push(`${label}: connection closed without an error event after ${describeTcp(steps)}`);
      if (outcome === 'timeout') res.failures.push(`${label}: describe not answered (${outcome}) after ${describeTcp(steps)}`);
      probed = outcome === 'info';
    }
  }
  sock.destroy();
  await closed;
  const key = hungUp ? 'hangup' : probed ? 'probe-answered' : closedByServer ? 'server-closed' : 'client-closed';
  res.closes[key] = (res.closes[key] ?? 0) + 1;
}

function describeTcp(steps: TcpStep[]): string {
  return steps.map((s) => ('hangup' in s ? 'hangup' : JSON.stringify(s.bytes.subarray(0, 80).toString('latin1')))).join(' → ');
}

// ------------------------------------------------------------------------------------------------

/** Runs `cases` cases against one interface (or until `deadlineMs`), a few connections at a time. */
export async function fuzzInterface(
  target: FuzzTarget,
  iface: FuzzInterface,
  opts: { seed: number; cases: number; deadlineMs?: number; concurrency?: number; first?: number },
): Promise<FuzzResult> {
  const res: FuzzResult = { iface, seed: opts.seed, cases: 0, frames: 0, errorReplies: 0, closes: {}, failures: [], ms: 0 };
  const started = Date.now();
  const concurrency = opts.concurrency ?? 3;
  let next = opts.first ?? 0;
  const last = next + opts.cases;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= last || (opts.deadlineMs !== undefined && Date.now() > opts.deadlineMs)) return;
      // each case has its own stream of draws, so a case replays alone: seed + case number
      const d = new Draw(prng(opts.seed * 1_000_003 + i));
      const label = `${iface} seed=${opts.seed} case=${i}`;
      if (iface === 'wyoming') await wyomingCase(target, d, res, label);
      else await wsCase(target, iface, d, res, label);
      res.cases++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  res.ms = Date.now() - started;
  return res;
}

/**
 * A well-behaved /ws client beside the fuzzing: streams real speech at `speed` × real time and returns
 * the final text, which must match what the clip says (other clients' sessions are unaffected).
 */
export async function goodWsSession(url: string, pcm16k: Buffer, speed = 4): Promise<string> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
  const finals: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; text?: string; code?: string; fatal?: boolean };
      if (m.type === 'final' && m.text) finals.push(m.text);
      if (m.type === 'error' && m.fatal) reject(new Error(`good session got a fatal error: ${m.code}`));
      if (m.type === 'done') resolve();
    });
    ws.on('close', (code) => reject(new Error(`good session closed early (${code})`)));
    ws.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: 16000, encoding: 'pcm_s16le', partials: false }));
  const chunk = 3200; // 100 ms
  for (let at = 0; at < pcm16k.length; at += chunk) {
    ws.send(pcm16k.subarray(at, at + chunk));
    await sleep(100 / speed);
  }
  ws.send(Buffer.alloc(32000)); // 1 s of silence ends the last utterance
  ws.send(JSON.stringify({ type: 'stop' }));
  await done;
  ws.removeAllListeners('close');
  ws.on('close', () => undefined);
  ws.close();
  return finals.join(' ');
}

/** A speech file as 16 kHz mono s16le bytes, through ffmpeg. */
export function clipPcm16(path: string): Buffer {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { maxBuffer: 64 << 20 });
}
