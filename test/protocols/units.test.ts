// Pure parts of the protocol interfaces: Wyoming framing, PCM conversion, append-only transcript text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PcmToMono16k } from '../../src/audio/pcm-stream.js';
import { AppendOnlyTranscript, alignedPrefix } from '../../src/pipeline/policy/append-only.js';
import { encodeEvent, WyomingDecoder, type WyomingFrameError } from '../../src/protocols/wyoming/framing.js';

describe('Wyoming framing', () => {
  it('round-trips header, data and payload, fed one byte at a time', () => {
    const bytes = Buffer.concat([
      encodeEvent('audio-chunk', { rate: 16000, width: 2, channels: 1 }, Buffer.from([1, 2, 3, 4])),
      encodeEvent('describe'),
      encodeEvent('transcript', { text: 'héllo ✓' }),
    ]);
    const decoder = new WyomingDecoder();
    const events = [];
    for (const b of bytes) events.push(...decoder.push(Buffer.from([b])));
    assert.deepEqual(
      events.map((e) => [e.type, e.data, e.payload ? [...e.payload] : null]),
      [
        ['audio-chunk', { rate: 16000, width: 2, channels: 1 }, [1, 2, 3, 4]],
        ['describe', {}, null],
        ['transcript', { text: 'héllo ✓' }, null],
      ],
    );
    assert.equal(decoder.midFrame, false);
  });

  it('writes the header fields the reference writer does', () => {
    const bytes = encodeEvent('transcript', { text: 'hi' }, Buffer.from('xy'));
    const header = JSON.parse(bytes.subarray(0, bytes.indexOf(0x0a)).toString());
    assert.deepEqual(Object.keys(header).sort(), ['data_length', 'payload_length', 'type', 'version']);
    assert.equal(header.data_length, Buffer.byteLength('{"text":"hi"}'));
  });

  it('merges data bytes over inline header data', () => {
    const line = Buffer.from('{"type": "transcribe", "data": {"name": "base", "language": "de"}, "data_length": 18}\n{"language": "en"}');
    const [event] = new WyomingDecoder().push(line);
    assert.deepEqual(event!.data, { name: 'base', language: 'en' });
  });

  it('refuses what it cannot read', () => {
    const codes = (text: string) => {
      try {
        new WyomingDecoder().push(Buffer.from(text));
        return 'ok';
      } catch (err) {
        return (err as WyomingFrameError).code;
      }
    };
    assert.equal(codes('[1,2]\n'), 'bad-header');
    assert.equal(codes('{"data": {}}\n'), 'bad-header');
    assert.equal(codes('{"type": "x", "payload_length": -1}\n'), 'bad-header');
    assert.equal(codes('{"type": "x", "payload_length": 1.5}\n'), 'bad-header');
    assert.equal(codes('{"type": "x", "data_length": 99999999}\n'), 'too-large');
    assert.equal(codes('{"type": "x", "data_length": 2}\n[]'), 'bad-data');
  });
});

describe('PCM conversion', () => {
  it('mixes channels, reads 24/32-bit, keeps split frames across chunks', () => {
    const conv = new PcmToMono16k({ rate: 16000, width: 3, channels: 2 });
    // one frame: left = +0.5, right = -0.25 (24-bit), split after 4 bytes
    const frame = Buffer.alloc(6);
    frame.writeIntLE(Math.round(0.5 * 8388608), 0, 3);
    frame.writeIntLE(Math.round(-0.25 * 8388608), 3, 3);
    assert.equal(conv.push(frame.subarray(0, 4)).length, 0);
    const out = conv.push(frame.subarray(4));
    assert.equal(out.length, 1);
    assert.ok(Math.abs(out[0]! - 0.125) < 1e-6);
  });

  it('resamples 48 kHz to 16 kHz', () => {
    const conv = new PcmToMono16k({ rate: 48000, width: 2, channels: 1 });
    const out = conv.push(Buffer.alloc(48000 * 2));
    assert.ok(Math.abs(out.length - 16000) <= 1, `${out.length} samples`);
  });
});

describe('append-only transcript', () => {
  it('sends committed words once, then the final tail after the aligned committed words', () => {
    const t = new AppendOnlyTranscript();
    const deltas = [
      t.partial(1, 'and mister'),
      t.partial(1, 'and mister'),
      t.partial(1, 'and mister john dashwood'),
      t.final(1, 'And Mr. John Dashwood had then leisure.'),
      t.partial(2, 'he was'),
      t.final(2, 'He was not an ill-disposed young man.'),
    ];
    assert.deepEqual(deltas, ['and mister', '', ' john dashwood', ' had then leisure.', ' he was', ' not an ill-disposed young man.']);
    assert.equal(t.value, deltas.join(''));
  });

  it('aligns committed words that differ from the final', () => {
    assert.equal(alignedPrefix([], ['a', 'b']), 0);
    assert.equal(alignedPrefix(['a', 'b', 'x'], ['a', 'b', 'y', 'z']), 3);
    assert.equal(alignedPrefix(['Hello,', 'world'], ['hello', 'world!', 'again']), 2);
  });

  it('keeps committed text when the final is empty', () => {
    const t = new AppendOnlyTranscript();
    t.partial(1, 'one two');
    t.end(1);
    assert.equal(t.final(2, 'three'), ' three');
    assert.equal(t.value, 'one two three');
  });
});
