// Separate hosts for the cluster test's nodes: one Linux network namespace per node, each joined by
// a veth pair to a bridge in the test's own namespace, where PostgreSQL, Redis, nginx and the test
// itself stay. A node then has its own address, loopback and ports (every node listens on the same
// port, as on real hosts) and reaches the shared services only through the bridge, like over a LAN.
// Needs root (CAP_NET_ADMIN) and iproute2; netnsAvailable() says whether this machine allows it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NodeNetwork {
  /** the test's address on the bridge: PostgreSQL, Redis and nginx listen here too */
  hostIp: string;
  /** one address per node */
  nodeIps: string[];
  /** the command prefix that runs a program inside node i's namespace */
  prefix(i: number): string[];
  /** removes the namespaces, links and the bridge (idempotent) */
  close(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** True when namespaces can be made and entered here (root with CAP_NET_ADMIN, iproute2 installed). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `earshot-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'exec', probe, 'ip', 'link', 'set', 'lo', 'up');
    return true;
  } catch {
    return false;
  } finally {
    try {
      ip('netns', 'del', probe);
    } catch {
      // never created
    }
  }
}

/** A /24 in 10.0.0.0/8 that no interface here uses yet. */
function freeSubnet(): string {
  const used = ip('-4', '-o', 'addr', 'show');
  for (;;) {
    const b = randomBytes(2);
    const net = `10.${100 + (b[0]! % 100)}.${b[1]}`;
    if (!used.includes(` ${net}.`)) return net;
  }
}

export function createNodeNetwork(count: number): NodeNetwork {
  const tag = randomBytes(2).toString('hex');
  const net = freeSubnet();
  const bridge = `esbr${tag}`;
  const hostIp = `${net}.1`;
  const namespaces: string[] = [];
  const links: string[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    process.off('exit', close);
    for (const ns of namespaces) {
      try {
        ip('netns', 'del', ns); // takes its end of the veth pair, and so the pair, with it
      } catch {
        // already gone
      }
    }
    for (const link of [...links, bridge]) {
      try {
        ip('link', 'del', link);
      } catch {
        // already gone
      }
    }
  };
  // never leave interfaces behind, even when the test process dies early
  process.once('exit', close);
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    links.push(bridge);
    ip('addr', 'add', `${hostIp}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    const nodeIps: string[] = [];
    for (let i = 0; i < count; i++) {
      const ns = `earshot-${tag}-${i + 1}`;
      const outside = `es${tag}n${i + 1}`;
      const inside = `es${tag}p${i + 1}`;
      const addr = `${net}.${10 + i}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      links.push(outside);
      ip('link', 'set', inside, 'netns', ns);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${addr}/24`, 'dev', inside);
      ip('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up');
      ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
      nodeIps.push(addr);
    }
    return { hostIp, nodeIps, prefix: (i) => ['ip', 'netns', 'exec', namespaces[i]!], close };
  } catch (err) {
    close();
    throw err;
  }
}
