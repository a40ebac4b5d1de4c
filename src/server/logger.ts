// The server's logger: JSON lines for log collectors (Docker, systemd, files), a readable colored
// line per event when a person watches the terminal. "auto" picks by whether stdout is a TTY.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { logRequest } from './auth.js';

export type LogFormat = 'auto' | 'pretty' | 'json';

export function createLogger(opts: { level: string; format: LogFormat; stream?: NodeJS.WritableStream & { isTTY?: boolean } }): Logger {
  const out = opts.stream ?? process.stdout;
  // keys never reach the logs: request URLs are logged with ?api_key= masked (auth.ts)
  const options = { level: opts.level, base: { service: 'earshot' }, serializers: { req: logRequest } };
  const human = opts.format === 'pretty' || (opts.format === 'auto' && out.isTTY === true);
  if (!human) return opts.stream ? pino(options, opts.stream) : pino(options);
  // In-process and synchronous (not a worker-thread transport) so the last lines before an exit
  // are never lost.
  return pino(
    options,
    pretty({
      destination: out,
      sync: true,
      colorize: out.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
    }),
  );
}
