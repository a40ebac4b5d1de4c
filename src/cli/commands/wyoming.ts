import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.js';
import { startServer } from '../../server/start.js';

export function register(program: Command): void {
  program
    .command('wyoming')
    .description('serve only the Wyoming protocol (Home Assistant speech-to-text and wake word), no HTTP')
    .option('--uri <uri>', 'where to listen (env EARSHOT_WYOMING_URI)', undefined)
    .option('--model <source>', 'default model (env MODEL_NAME)')
    .option('--device <device>', 'cpu | cuda | auto (env WHISPER_DEVICE)')
    .option('--threads <n>', 'CPU threads per decoding state')
    .option('--config <file>', 'JSON config file (env EARSHOT_CONFIG)')
    .option('--wakeword <name...>', 'wake words offered to detect: built-in names or .onnx paths')
    .option('--no-zeroconf', 'do not advertise the service on the LAN (mDNS)')
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      const config = loadConfig({
        file: o.config as string | undefined,
        flags: {
          model: { name: o.model, device: o.device, threads: o.threads },
          wyoming: { uri: o.uri, zeroconf: o.zeroconf === false ? false : undefined, wakewords: o.wakeword },
        },
      });
      config.wyoming.uri ??= 'tcp://0.0.0.0:10300';
      const server = await startServer(config, { http: false });
      server.ctx.log.info(`earshot wyoming on ${server.wyoming!.uri} (model ${config.model.name})`);
      const stop = async (signal: string) => {
        server.ctx.log.info(`${signal}: shutting down`);
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
