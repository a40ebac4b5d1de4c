import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.js';
import { startServer } from '../../server/start.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the speech server (seed REST API, OpenAI audio API, WebSocket streaming)')
    .option('--host <host>', 'listen address (env SERVER_HOST)')
    .option('--port <port>', 'listen port (env SERVER_PORT)')
    .option('--model <source>', 'default model: store id, catalogue name, hf://, https://, s3:// or path (env MODEL_NAME)')
    .option('--device <device>', 'cpu | cuda | auto (env WHISPER_DEVICE)')
    .option('--threads <n>', 'CPU threads per decoding state')
    .option('--parallel <n>', 'decoding states sharing one loaded model')
    .option('--engine <engine>', 'Whisper engine: auto | whisper | ct2 (env EARSHOT_ENGINE)')
    .option('--config <file>', 'JSON config file (env EARSHOT_CONFIG)')
    .option('--api-key <key...>', 'require one of these API keys')
    .option('--wyoming <uri>', 'also serve the Wyoming protocol (Home Assistant), e.g. tcp://0.0.0.0:10300 (env EARSHOT_WYOMING_URI)')
    .option('--no-zeroconf', 'do not advertise the Wyoming service on the LAN (mDNS)')
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      const config = loadConfig({
        file: o.config as string | undefined,
        flags: {
          server: { host: o.host, port: o.port, apiKeys: o.apiKey },
          model: { name: o.model, device: o.device, threads: o.threads, parallel: o.parallel, engine: o.engine },
          wyoming: { uri: o.wyoming, zeroconf: o.zeroconf === false ? false : undefined },
        },
      });
      const server = await startServer(config);
      server.ctx.log.info(`earshot listening on ${server.url} (model ${config.model.name})${server.wyoming ? `, wyoming on ${server.wyoming.uri}` : ''}`);
      const stop = async (signal: string) => {
        server.ctx.log.info(`${signal}: shutting down`);
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
