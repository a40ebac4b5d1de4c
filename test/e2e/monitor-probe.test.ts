// The monitor's machine facts: nvidia-smi's CSV, the probe's caching and its "not installed" path
// (this machine has no GPU: a stand-in script prints nvidia-smi's documented CSV), CPU usage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { CpuUsage, GpuProbe, NVIDIA_SMI_ARGS, parseNvidiaSmi } from '../../src/app/system.js';

// `nvidia-smi --query-gpu=index,name,memory.used,memory.total,utilization.gpu,temperature.gpu --format=csv,noheader,nounits`
const TWO_GPUS = '0, NVIDIA H100 80GB HBM3, 1234, 81559, 7, 34\n1, NVIDIA A100-SXM4-40GB, [N/A], 40960, [N/A], 41\n';

describe('monitor machine probes', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-probe-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('parses nvidia-smi CSV, unknown values as null', () => {
    assert.deepEqual(parseNvidiaSmi(TWO_GPUS), [
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memory_used_mib: 1234, memory_total_mib: 81559, utilization_percent: 7, temperature_c: 34 },
      { index: 1, name: 'NVIDIA A100-SXM4-40GB', memory_used_mib: null, memory_total_mib: 40960, utilization_percent: null, temperature_c: 41 },
    ]);
    assert.deepEqual(parseNvidiaSmi('0, Tesla T4, Rev, B, 10, 15360, 0, 40'), [
      { index: 0, name: 'Tesla T4, Rev, B', memory_used_mib: 10, memory_total_mib: 15360, utilization_percent: 0, temperature_c: 40 },
    ]);
    assert.deepEqual(parseNvidiaSmi(''), []);
    assert.deepEqual(parseNvidiaSmi('No devices were found\n'), []);
  });

  it('asks nvidia-smi at most once per interval', async () => {
    const calls = join(dir, 'calls');
    const script = join(dir, 'nvidia-smi');
    await writeFile(script, `#!/bin/sh\necho "$@" >> ${calls}\nprintf '${TWO_GPUS.replace(/\n/g, '\\n')}'\n`);
    await chmod(script, 0o755);
    const probe = new GpuProbe(script);
    const [a, b] = await Promise.all([probe.read(), probe.read()]);
    assert.equal(a?.length, 2);
    assert.deepEqual(a, b);
    assert.deepEqual(await probe.read(), a);
    const lines = (await readFile(calls, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1, 'one call for three reads');
    assert.equal(lines[0], NVIDIA_SMI_ARGS.join(' '));
    await probe.read(0);
    assert.equal((await readFile(calls, 'utf8')).trim().split('\n').length, 2, 'asks again once the answer is stale');
    assert.deepEqual(probe.last, a);
  });

  it('reports no GPU when nvidia-smi is not installed, and stops asking', async () => {
    const probe = new GpuProbe(join(dir, 'no-such-nvidia-smi'));
    assert.equal(await probe.read(0), null);
    assert.equal(await probe.read(0), null);
    assert.equal(probe.last, null);
  });

  it('reports no GPU when nvidia-smi fails (driver not loaded)', async () => {
    const script = join(dir, 'broken-smi');
    await writeFile(script, '#!/bin/sh\necho "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2\nexit 9\n');
    await chmod(script, 0o755);
    assert.equal(await new GpuProbe(script).read(0), null);
  });

  it('measures CPU usage between calls', async () => {
    const cpu = new CpuUsage();
    const until = Date.now() + 300;
    while (Date.now() < until) Math.sqrt(Math.random());
    const pct = cpu.percent();
    assert.ok(pct !== null && pct > 0 && pct <= 100, String(pct));
  });
});
