// Log output as people and collectors see it: JSON lines when stdout is not a terminal, readable
// lines on one (or when asked). (A real server's output: test/models/default-model.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/server/logger.js';

function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

test('auto format: JSON lines when the output is not a terminal', () => {
  const out = capture(false);
  createLogger({ level: 'info', format: 'auto', stream: out.stream }).info({ model: 'base' }, 'model loaded');
  const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
  assert.equal(line.msg, 'model loaded');
  assert.equal(line.model, 'base');
  assert.equal(line.level, 30);
  assert.equal(line.service, 'earshot');
});

test('auto format: one readable, colored line per event on a terminal', () => {
  const out = capture(true);
  createLogger({ level: 'info', format: 'auto', stream: out.stream }).info({ model: 'base' }, 'model loaded');
  const text = out.text();
  assert.throws(() => JSON.parse(text.trim()), 'a terminal gets no JSON');
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(plain, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: model loaded\n\s+model: "base"\n$/);
  assert.notEqual(plain, text, 'colored on a terminal');
});

test('pretty format on a pipe: readable and uncolored; json format on a terminal: JSON', () => {
  const pipe = capture(false);
  createLogger({ level: 'info', format: 'pretty', stream: pipe.stream }).warn('disk low');
  assert.match(pipe.text(), /^\[[\d:.]+\] WARN: disk low\n$/);
  const tty = capture(true);
  createLogger({ level: 'info', format: 'json', stream: tty.stream }).warn('disk low');
  assert.equal((JSON.parse(tty.text()) as { msg: string }).msg, 'disk low');
});
