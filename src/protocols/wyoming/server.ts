// The Wyoming TCP server: `tcp://host:port`, one handler per connection, optional zeroconf advertisement.
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Config } from '../../config/schema.js';
import type { AppContext } from '../../server/context.js';
import { BUILTIN_WAKEWORDS, resolveWakewordModel } from '../../wakeword/wakeword-models.js';
import { handleConnection } from './connection.js';
import type { OfferedWakeword } from './info.js';
import { advertise, type Advertisement } from './zeroconf.js';

export interface WyomingServer {
  host: string;
  port: number;
  /** tcp://host:port as clients reach it */
  uri: string;
  advertisement?: Advertisement;
  close(): Promise<void>;
}

/** "tcp://0.0.0.0:10300" → host and port. */
export function parseWyomingUri(uri: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`invalid Wyoming URI "${uri}": expected tcp://HOST:PORT`);
  }
  if (url.protocol !== 'tcp:') throw new Error(`invalid Wyoming URI "${uri}": only tcp:// is supported`);
  if (url.port === '') throw new Error(`invalid Wyoming URI "${uri}": a port is required (Wyoming's usual is 10300)`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

/** Wake words from config: built-in names or .onnx paths, each resolved now so a typo fails at startup. */
export function offeredWakewords(specs: string[]): { words: OfferedWakeword[]; paths: Map<string, string> } {
  const words: OfferedWakeword[] = [];
  const paths = new Map<string, string>();
  for (const spec of specs) {
    const ref = resolveWakewordModel(spec);
    const builtin = (BUILTIN_WAKEWORDS as readonly string[]).includes(ref.name) && !spec.toLowerCase().endsWith('.onnx');
    paths.set(ref.name, ref.path);
    words.push({ name: ref.name, phrase: ref.name.replace(/_/g, ' '), builtin });
  }
  return { words, paths };
}

export async function startWyoming(ctx: AppContext, settings: Config['wyoming'], uri: string): Promise<WyomingServer> {
  const { host, port } = parseWyomingUri(uri);
  const { words, paths } = offeredWakewords(settings.wakewords);
  const sockets = new Set<Socket>();
  // half-open: a client that shuts its side after audio-stop still gets its transcript
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    handleConnection(socket, {
      ctx,
      wakewords: words,
      wakewordPaths: paths,
      wake: { threshold: settings.wakeThreshold, refractorySeconds: settings.refractorySeconds },
      frameTimeoutMs: settings.frameTimeoutSeconds * 1000,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => ctx.log.error({ err }, 'wyoming server error'));
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  const advertisement = settings.zeroconf
    ? advertise({
        name: settings.zeroconfName ?? `earshot-${hostname()}`,
        port: boundPort,
        onError: (err) => ctx.log.warn(`zeroconf advertisement failed: ${err.message} (Home Assistant can still add the service by host and port)`),
      })
    : undefined;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  ctx.log.info(`wyoming listening on tcp://${host}:${boundPort}${advertisement ? ` (zeroconf: ${advertisement.name}._wyoming._tcp)` : ''}`);
  return {
    host,
    port: boundPort,
    uri: `tcp://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${boundPort}`,
    advertisement,
    close: async () => {
      await advertisement?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
