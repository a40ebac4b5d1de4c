// The history file at server start when something is wrong with it: garbage bytes (moved aside, a fresh
// history starts, logged), a file another process keeps exclusively locked (history off for the run,
// logged with the reason, the server not failing), and the lock released (history back, rows intact).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { HISTORY_FILE, openHistory } from '../../src/app/services.js';

interface Logged {
  level: 'info' | 'warn' | 'error';
  obj: unknown;
  msg?: string;
}

function recordingLog(): {
  lines: Logged[];
  info: (o: unknown, m?: string) => void;
  warn: (o: unknown, m?: string) => void;
  error: (o: unknown, m?: string) => void;
} {
  const lines: Logged[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

const entry = (text: string) => ({ kind: 'batch' as const, source: 'rest' as const, text, language: 'en', model: 'base' });

describe('opening the history file', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(os.tmpdir(), 'earshot-history-open-'));
  });
  after(async () => rm(home, { recursive: true, force: true }));

  it('moves a file of garbage bytes aside, starts a fresh history and says so', async () => {
    const path = join(home, HISTORY_FILE);
    const garbage = Buffer.alloc(16384, 0x5a);
    writeFileSync(path, garbage);
    const log = recordingLog();
    const history = openHistory(home, log);
    assert.ok(history, 'a fresh history');
    try {
      const added = await history.add(entry('after the damage'));
      assert.equal((await history.get(added.id))?.text, 'after the damage');
      const aside = readdirSync(home).filter((f) => f.startsWith(`${HISTORY_FILE}.corrupt-`));
      assert.equal(aside.length, 1, `moved aside: ${aside.join(', ')}`);
      const moved = aside[0]!;
      assert.deepEqual(readFileSync(join(home, moved)), garbage, 'the damaged file is kept as it was');
      const error = log.lines.find((l) => l.level === 'error');
      assert.match(error?.msg ?? '', /is damaged .*moved to .*corrupt-.*starting a fresh history/);
    } finally {
      await history.close();
    }
  });

  it('runs without history while another process holds an exclusive lock, and recovers once it is gone', async () => {
    const path = join(home, HISTORY_FILE);
    const before = openHistory(home, recordingLog())!;
    const kept = await before.add(entry('written before the lock'));
    await before.close();
    // Another process takes the file exclusively (locking_mode EXCLUSIVE + an open write transaction) and keeps it.
    const locker = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        [
          "import Database from 'better-sqlite3';",
          'const db = new Database(process.argv[1]);',
          "db.pragma('locking_mode = EXCLUSIVE');",
          "db.exec('BEGIN EXCLUSIVE');",
          "db.exec(\"INSERT INTO transcripts (created_at, kind, source, text) VALUES (0, 'batch', 'rest', 'locker')\");",
          "console.log('locked');",
          "process.stdin.on('end', () => process.exit(0)).resume();",
        ].join('\n'),
        path,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'], cwd: join(import.meta.dirname, '..', '..') },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        locker.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        locker.once('exit', (code) => reject(new Error(`locker exited with ${code}`)));
      });
      const log = recordingLog();
      const started = Date.now();
      const history = openHistory(home, log, undefined, { busyTimeoutMs: 700 });
      assert.equal(history, undefined, 'no history while the file is locked');
      assert.ok(Date.now() - started >= 600, 'it waited for the lock before giving up');
      const error = log.lines.find((l) => l.level === 'error');
      assert.match(error?.msg ?? '', /history disabled for this run: .* is locked by another process/);
      assert.equal(existsSync(path), true, 'a locked file is never moved aside');
    } finally {
      locker.stdin.end();
      await new Promise((r) => locker.once('exit', r));
    }
    // The other process ended without committing: the next start has history again, and its old rows.
    const after = openHistory(home, recordingLog());
    assert.ok(after);
    try {
      assert.equal((await after.get(kept.id))?.text, 'written before the lock');
      assert.equal(await after.count(), 2, 'the fresh entry from the first test and this one; the uncommitted insert is gone');
    } finally {
      await after.close();
    }
  });
});
