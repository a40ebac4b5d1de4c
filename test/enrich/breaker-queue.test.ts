// The circuit breaker and the drop-oldest queue on their own, with an injected clock (no sleeps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../src/pipeline/enrich/breaker.js';
import { DropOldestQueue, DroppedError } from '../../src/pipeline/enrich/queue.js';

test('breaker: closed → open after N consecutive failures; a success in between resets the count', () => {
  const now = 0;
  const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 100, now: () => now });
  b.failure();
  b.failure();
  b.success();
  b.failure();
  b.failure();
  assert.equal(b.state, 'closed');
  assert.equal(b.tryAcquire(), true);
  b.failure();
  assert.equal(b.state, 'open');
  assert.equal(b.tryAcquire(), false);
  assert.deepEqual(b.snapshot(), { state: 'open', consecutiveFailures: 3, retryAt: 100 });
});

test('breaker: half-open lets exactly one probe through; release() frees the slot unused', () => {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: () => now });
  b.failure();
  now = 99;
  assert.equal(b.tryAcquire(), false);
  now = 100;
  assert.equal(b.state, 'half_open');
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), false, 'second caller waits for the probe');
  b.release();
  assert.equal(b.tryAcquire(), true, 'an unused probe slot is handed to the next caller');
  b.success();
  assert.equal(b.state, 'closed');
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), true);
});

test('breaker: a failed probe re-opens for a full cool-down from the probe time', () => {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold: 5, cooldownMs: 100, now: () => now });
  for (let i = 0; i < 5; i++) b.failure();
  now = 150;
  assert.equal(b.tryAcquire(), true);
  b.failure();
  assert.equal(b.state, 'open');
  assert.equal(b.snapshot().retryAt, 250);
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('queue: runs up to `concurrency` at once and the rest in arrival order', async () => {
  const q = new DropOldestQueue(2, 10);
  const gates = [deferred<void>(), deferred<void>(), deferred<void>()];
  const started: number[] = [];
  const runs = gates.map((g, i) =>
    q.run(async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  assert.deepEqual(started, [0, 1]);
  assert.equal(q.size, 1);
  assert.equal(q.active, 2);
  gates[1].resolve();
  await runs[1];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2]);
  gates[0].resolve();
  gates[2].resolve();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
  assert.equal(q.active, 0);
});

test('queue: past maxPending the oldest waiting task is dropped with DroppedError and counted', async () => {
  const q = new DropOldestQueue(1, 2);
  const gate = deferred<void>();
  const ran: string[] = [];
  const task = (name: string) => async () => {
    ran.push(name);
    if (name === 'a') await gate.promise;
    return name;
  };
  const a = q.run(task('a'));
  const b = q.run(task('b'));
  const c = q.run(task('c'));
  const d = q.run(task('d')); // b is dropped
  await assert.rejects(b, DroppedError);
  const e = q.run(task('e')); // c is dropped
  await assert.rejects(c, DroppedError);
  assert.equal(q.dropped, 2);
  gate.resolve();
  assert.deepEqual(await Promise.all([a, d, e]), ['a', 'd', 'e']);
  assert.deepEqual(ran, ['a', 'd', 'e'], 'dropped tasks never run');
});

test('queue: maxPending 0 drops any task that cannot start at once; aborted waiters leave the queue', async () => {
  const q = new DropOldestQueue(1, 0);
  const gate = deferred<void>();
  const a = q.run(() => gate.promise.then(() => 'a'));
  await assert.rejects(
    q.run(async () => 'b'),
    DroppedError,
  );

  const q2 = new DropOldestQueue(1, 5);
  const g2 = deferred<void>();
  const first = q2.run(() => g2.promise);
  const controller = new AbortController();
  const waiting = q2.run(async () => 'never', controller.signal);
  controller.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.equal(q2.size, 0);
  assert.equal(q2.dropped, 0, 'an abort is not a drop');
  g2.resolve();
  gate.resolve();
  await Promise.all([a, first]);
});

test('queue: a task that throws synchronously rejects its own promise and frees the slot', async () => {
  const q = new DropOldestQueue(1, 1);
  await assert.rejects(
    q.run(() => {
      throw new Error('sync');
    }),
    /sync/,
  );
  assert.equal(await q.run(async () => 'next'), 'next');
});
