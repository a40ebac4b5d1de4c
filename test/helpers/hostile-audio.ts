// A corpus of hostile uploads for the decoder, generated on the spot (nothing binary is committed):
// empty and truncated files, headers that lie about their size or rate, a tiny compressed file that
// decodes to many hours, odd rates and channel counts, NaN/Inf float PCM, non-audio under audio names
// and containers nested in containers. Used by test/server/hostile-audio.test.ts and `npm run fuzz`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';

export interface HostileCase {
  name: string;
  bytes: Buffer;
  filename: string;
  mimetype: string;
  /**
   * reject: must be refused with a 4xx. accept: real audio in an odd shape, must transcribe (200).
   * either: a 4xx or a 200 whose duration stays within `maxDuration`.
   */
  expect: 'reject' | 'accept' | 'either';
  /** seconds of audio the server may report for it (lying headers must not turn into hours) */
  maxDuration?: number;
}

/** A canonical 44-byte WAV header; every field can be made to lie. */
export function wavHeader(o: { rate: number; channels: number; bits: number; format?: number; dataBytes: number; riffBytes?: number }): Buffer {
  const h = Buffer.alloc(44);
  const blockAlign = (o.channels * o.bits) / 8;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE((o.riffBytes ?? o.dataBytes + 36) >>> 0, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(o.format ?? 1, 20);
  h.writeUInt16LE(o.channels, 22);
  h.writeUInt32LE(o.rate >>> 0, 24);
  h.writeUInt32LE((o.rate * blockAlign) >>> 0, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(o.bits, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(o.dataBytes >>> 0, 40);
  return h;
}

/** A tone with some envelope, so a decoder has real signal to chew on (s16, interleaved). */
export function tonePcm16(rate: number, seconds: number, channels = 1): Buffer {
  const n = Math.round(rate * seconds);
  const out = Buffer.alloc(n * channels * 2);
  for (let i = 0; i < n; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate) * Math.min(1, i / (rate * 0.05 + 1)));
    for (let c = 0; c < channels; c++) out.writeInt16LE(v, (i * channels + c) * 2);
  }
  return out;
}

export function wav16(rate: number, seconds: number, channels = 1): Buffer {
  const pcm = tonePcm16(rate, seconds, channels);
  return Buffer.concat([wavHeader({ rate, channels, bits: 16, dataBytes: pcm.length }), pcm]);
}

/** IEEE float WAV (format 3) whose samples include NaN and ±Infinity among ordinary ones. */
export function nanFloatWav(seconds: number): Buffer {
  const rate = 16000;
  const n = rate * seconds;
  const pcm = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const v = i % 7 === 0 ? Number.NaN : i % 11 === 0 ? Number.POSITIVE_INFINITY : i % 13 === 0 ? Number.NEGATIVE_INFINITY : 0.3 * Math.sin(i / 5);
    pcm.writeFloatLE(v, i * 4);
  }
  return Buffer.concat([wavHeader({ rate, channels: 1, bits: 32, format: 3, dataBytes: pcm.length }), pcm]);
}

/** A minimal one-entry zip (stored with deflate), built by hand: no archiver needed for 30 bytes of header. */
export function zipOf(name: string, content: Buffer): Buffer {
  const data = deflateRawSync(content);
  const nameBytes = Buffer.from(name, 'utf8');
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const centralOffset = local.length + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function ffmpeg(args: string[], dir: string, out: string): Buffer {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, join(dir, out)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(join(dir, out));
}

/**
 * Hours of silence in a few tens of kB: FLAC at 8 kHz with the largest frames (each frame of silence
 * is one constant subframe). `hours` of it decode to hours × 57.6 M float samples at 16 kHz.
 */
export function silenceFlac(hours: number, dir: string): Buffer {
  return ffmpeg(
    [
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=8000:cl=mono:nb_samples=65535',
      '-t',
      String(hours * 3600),
      '-c:a',
      'flac',
      '-compression_level',
      '0',
      '-frame_size',
      '65535',
    ],
    dir,
    `silence-${hours}h.flac`,
  );
}

/** The whole corpus. `bombHours`: length of the compressed silence (the duration-limit case). */
export function hostileCorpus(opts: { bombHours?: number } = {}): HostileCase[] {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-hostile-'));
  try {
    const speechish = wav16(16000, 2);
    const cases: HostileCase[] = [
      { name: 'zero-length', bytes: Buffer.alloc(0), filename: 'empty.wav', mimetype: 'audio/wav', expect: 'reject' },
      { name: 'one byte', bytes: Buffer.from([0x52]), filename: 'one.wav', mimetype: 'audio/wav', expect: 'reject' },
      { name: 'truncated WAV header', bytes: speechish.subarray(0, 20), filename: 'trunc.wav', mimetype: 'audio/wav', expect: 'reject' },
      { name: 'WAV header only', bytes: speechish.subarray(0, 44), filename: 'header-only.wav', mimetype: 'audio/wav', expect: 'reject' },
      {
        name: 'WAV claiming hours (data size 0xFFFFFFF0, 1 s present)',
        bytes: Buffer.concat([wavHeader({ rate: 16000, channels: 1, bits: 16, dataBytes: 0xfffffff0 }), tonePcm16(16000, 1)]),
        filename: 'liar.wav',
        mimetype: 'audio/wav',
        expect: 'either',
        maxDuration: 2,
      },
      {
        name: 'RIFF and data sizes larger than the file',
        bytes: Buffer.concat([wavHeader({ rate: 16000, channels: 1, bits: 16, dataBytes: 50_000_000, riffBytes: 0xffffffff }), tonePcm16(16000, 0.5)]),
        filename: 'riff-liar.wav',
        mimetype: 'audio/wav',
        expect: 'either',
        maxDuration: 2,
      },
      {
        name: 'WAV at 1 Hz (32 kB that claims 4.4 hours)',
        bytes: Buffer.concat([wavHeader({ rate: 1, channels: 1, bits: 16, dataBytes: 32_000 }), tonePcm16(16000, 1)]),
        filename: 'one-hertz.wav',
        mimetype: 'audio/wav',
        expect: 'reject',
      },
      { name: 'WAV at 384 kHz', bytes: wav16(384000, 1), filename: 'hi-rate.wav', mimetype: 'audio/wav', expect: 'accept', maxDuration: 1.5 },
      {
        name: 'WAV with 0 channels',
        bytes: Buffer.concat([wavHeader({ rate: 16000, channels: 0, bits: 16, dataBytes: 3200 }), Buffer.alloc(3200)]),
        filename: 'zero-ch.wav',
        mimetype: 'audio/wav',
        expect: 'reject',
      },
      {
        name: 'WAV with 0 bits per sample',
        bytes: Buffer.concat([wavHeader({ rate: 16000, channels: 1, bits: 0, dataBytes: 3200 }), Buffer.alloc(3200)]),
        filename: 'zero-bits.wav',
        mimetype: 'audio/wav',
        expect: 'reject',
      },
      { name: '8-channel WAV', bytes: wav16(48000, 1, 8), filename: 'eight.wav', mimetype: 'audio/wav', expect: 'accept', maxDuration: 1.5 },
      { name: 'float WAV with NaN and Inf samples', bytes: nanFloatWav(1), filename: 'nan.wav', mimetype: 'audio/wav', expect: 'reject' },
      {
        name: 'raw f32 PCM with NaN (format=pcm_f32le)',
        bytes: nanFloatWav(1).subarray(44),
        filename: 'nan.pcm',
        mimetype: 'application/octet-stream',
        expect: 'reject',
      },
      {
        name: 'text with a .wav name',
        bytes: Buffer.from('hello, this is not audio\n'.repeat(100)),
        filename: 'note.wav',
        mimetype: 'audio/wav',
        expect: 'reject',
      },
      {
        name: 'PNG with a .flac name',
        bytes: Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(2000, 7)]),
        filename: 'img.flac',
        mimetype: 'audio/flac',
        expect: 'reject',
      },
      { name: 'random bytes as .mp3', bytes: pseudoRandom(64 * 1024, 7), filename: 'noise.mp3', mimetype: 'audio/mpeg', expect: 'reject' },
      { name: 'zip renamed .mp3', bytes: zipOf('inner.wav', speechish), filename: 'archive.mp3', mimetype: 'audio/mpeg', expect: 'reject' },
      {
        name: 'MP4 box header, nothing else',
        bytes: Buffer.from('0000001866747970697336000000000069736f6d', 'hex'),
        filename: 'x.m4a',
        mimetype: 'audio/mp4',
        expect: 'reject',
      },
      {
        name: 'WAV inside a WAV data chunk',
        bytes: Buffer.concat([wavHeader({ rate: 16000, channels: 1, bits: 16, dataBytes: speechish.length }), speechish]),
        filename: 'nested.wav',
        mimetype: 'audio/wav',
        expect: 'either',
        maxDuration: 3,
      },
    ];
    const mkaPath = join(dir, 'in.wav');
    writeFileSync(mkaPath, speechish);
    cases.push({
      name: 'WAV stream inside Matroska',
      bytes: ffmpeg(['-i', mkaPath, '-c:a', 'copy'], dir, 'wav-in.mkv'),
      filename: 'nested.mkv',
      mimetype: 'video/x-matroska',
      expect: 'accept',
      maxDuration: 2.5,
    });
    cases.push({
      name: 'video only, no audio stream (.mp4)',
      bytes: ffmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=32x32:d=1', '-c:v', 'mpeg4'], dir, 'video.mp4'),
      filename: 'video.mp4',
      mimetype: 'audio/mp4',
      expect: 'reject',
    });
    cases.push({
      name: 'Opus truncated mid-page',
      bytes: ffmpeg(['-i', mkaPath, '-c:a', 'libopus'], dir, 'x.ogg').subarray(0, 300),
      filename: 'cut.ogg',
      mimetype: 'audio/ogg',
      expect: 'either',
      maxDuration: 2.5,
    });
    const hours = opts.bombHours ?? 10;
    cases.push({
      name: `FLAC of ${hours} h silence (compressed)`,
      bytes: silenceFlac(hours, dir),
      filename: 'bomb.flac',
      mimetype: 'audio/flac',
      expect: 'reject',
    });
    return cases;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic bytes (xorshift32) for the same seed. */
export function pseudoRandom(n: number, seed: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
