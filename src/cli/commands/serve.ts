import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.js';
import { startServer } from '../../server/start.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the speech server (seed REST API, OpenAI audio API, WebSocket streaming)')
    .option('--host <host>', 'listen address (env SERVER_HOST)')
    .option('--port <port>', 'listen port (env SERVER_PORT)')
    .option('--model <source>', 'default model: store id, catalogue name, hf://, https://, s3://, gdrive://, pypi: or path (env MODEL_NAME)')
    .option('--device <device>', 'cpu | cuda | auto (env WHISPER_DEVICE)')
    .option('--threads <n>', 'CPU threads per decoding state')
    .option('--parallel <n>', 'decoding states sharing one loaded model')
    .option('--engine <engine>', 'Whisper engine: auto | whisper | ct2 (env EARSHOT_ENGINE)')
    .option('--config <file>', 'JSON config file (env EARSHOT_CONFIG)')
    .option('--api-key <key...>', 'require one of these API keys')
    .option('--wyoming <uri>', 'also serve the Wyoming protocol (Home Assistant), e.g. tcp://0.0.0.0:10300 (env EARSHOT_WYOMING_URI)')
    .option('--no-zeroconf', 'do not advertise the Wyoming service on the LAN (mDNS)')
    .option('--rate-limit <n>', 'requests per minute per key (per client IP without keys); 0 = unlimited (env EARSHOT_RATE_LIMIT)')
    .option('--max-live-sessions <n>', 'concurrent live sessions per key or client IP; 0 = unlimited (env EARSHOT_MAX_LIVE_SESSIONS)')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS and WSS on the same port (env EARSHOT_TLS_CERT; SIGHUP reloads)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env EARSHOT_TLS_KEY)')
    .option('--trust-proxy <value>', 'behind a reverse proxy: true, a hop count, or proxy addresses/CIDRs (env EARSHOT_TRUST_PROXY)')
    .option('--metrics-port <port>', 'serve /metrics on this port instead of the API port (env EARSHOT_METRICS_PORT)')
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      const config = loadConfig({
        file: o.config as string | undefined,
        flags: {
          server: {
            host: o.host,
            port: o.port,
            apiKeys: o.apiKey,
            rateLimitPerMinute: o.rateLimit,
            maxLiveSessions: o.maxLiveSessions,
            tls: { cert: o.tlsCert, key: o.tlsKey },
            trustProxy: o.trustProxy === 'true' ? true : o.trustProxy === 'false' ? false : o.trustProxy,
          },
          metrics: { port: o.metricsPort },
          model: { name: o.model, device: o.device, threads: o.threads, parallel: o.parallel, engine: o.engine },
          wyoming: { uri: o.wyoming, zeroconf: o.zeroconf === false ? false : undefined },
        },
      });
      const server = await startServer(config);
      server.ctx.log.info(`earshot listening on ${server.url} (model ${config.model.name})${server.wyoming ? `, wyoming on ${server.wyoming.uri}` : ''}`);
      // SIGTERM/SIGINT: graceful stop within server.shutdownGraceSeconds, exit 0; a second signal exits at once.
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          server.ctx.log.warn(`${signal} again: exiting now`);
          process.exit(1);
        }
        stopping = true;
        server.ctx.log.info(
          `${signal}: shutting down (live sessions get their last final; in-flight requests finish; up to ${config.server.shutdownGraceSeconds} s)`,
        );
        server
          .shutdown()
          .then((r) => {
            server.ctx.log.info(
              `shut down${r.sessions ? ` (${r.sessions} live session${r.sessions === 1 ? '' : 's'} closed)` : ''}${r.timedOut ? ' after the deadline' : ''}`,
            );
            process.exit(0);
          })
          .catch((err: Error) => {
            server.ctx.log.error({ err }, 'shutdown failed');
            process.exit(1);
          });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      // SIGHUP: new TLS certificate for new connections; open ones (live sessions) keep going.
      process.on('SIGHUP', () => {
        if (!config.server.tls.cert) return server.ctx.log.info('SIGHUP: TLS is not configured; nothing to reload');
        const r = server.reloadTls();
        if (r.ok) server.ctx.log.info('SIGHUP: TLS certificate reloaded');
        else server.ctx.log.error(`SIGHUP: TLS reload failed, keeping the current certificate: ${r.error}`);
      });
    });
}
