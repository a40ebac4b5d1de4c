// Log output as people and collectors see it: JSON lines when stdout is not a terminal, readable
// lines on one (or when asked), and a server start that prints no deprecation warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/server/logger.js';
import { startServer, TEST_MODEL } from '../helpers/server.js';

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

test('a real server start logs JSON lines and no deprecation warning', async () => {
  const server = await startServer({ model: TEST_MODEL, env: { EARSHOT_LOG_LEVEL: 'info' } });
  try {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
  } finally {
    await server.stop();
  }
  const output = server.output();
  assert.doesNotMatch(output, /DeprecationWarning|FSTDEP\d+|ExperimentalWarning/);
  const lines = output.split('\n').filter((l) => l.trim());
  assert.ok(lines.length >= 2, output);
  for (const line of lines) {
    const entry = JSON.parse(line) as { level: number; msg: string };
    assert.equal(typeof entry.level, 'number', line);
  }
  assert.ok(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'model loaded'), output);
});
