import type { Command } from 'commander';
import { decodeFile } from '../../audio/decode.js';
import { loadConfig } from '../../config/schema.js';
import { normalizeLanguage } from '../../util/languages.js';
import { EngineManager } from '../../engines/manager.js';
import { isResponseFormat, render, RESPONSE_FORMATS } from '../../formats/index.js';
import { ModelStore } from '../../models/store.js';
import { storeResolver } from '../../models/resolver.js';
import { HallucinationFilter } from '../../pipeline/filter/index.js';
import { createVad } from '../../pipeline/vad/index.js';
import { AppEvents } from '../../app/events.js';
import { TranscriptionService } from '../../app/transcription.js';

export function register(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe audio files with a local model (no server needed)')
    .argument('<files...>', 'audio files (any format ffmpeg reads)')
    .option('--model <source>', 'model id or source (env MODEL_NAME)')
    .option('--language <code>', 'language code or auto', 'auto')
    .option('--task <task>', 'transcribe | translate', 'transcribe')
    .option('--threads <n>', 'CPU threads')
    .option('--beam-size <n>', 'beam size (1 = greedy)')
    .option('--json', 'print the seed JSON ({success, text, language, segments, ...})')
    .option('--format <format>', `output format: ${RESPONSE_FORMATS.join(', ')}`)
    .action(async (files: string[], o: Record<string, string | boolean | undefined>) => {
      const config = loadConfig({ flags: { model: { name: o.model, threads: o.threads, beamSize: o.beamSize, idleUnloadSeconds: 0 } } });
      const format = (o.format as string | undefined) ?? (o.json ? 'json' : 'text');
      if (!isResponseFormat(format)) throw new Error(`--format must be one of ${RESPONSE_FORMATS.join(', ')}`);
      const task = o.task as string;
      if (task !== 'transcribe' && task !== 'translate') throw new Error('--task must be transcribe or translate');
      const language = normalizeLanguage(o.language as string);
      const store = new ModelStore();
      const engines = new EngineManager({ config, store, ...storeResolver(store, { log: (m) => process.stderr.write(m + '\n') }) });
      const vad = await createVad();
      const filter = new HallucinationFilter({ enabled: config.filter.enabled, phrases: config.filter.phrases });
      // the same batch path as the server's; nothing subscribes to its events here
      const service = new TranscriptionService({ engines, events: new AppEvents(), filter, vad, skipSilence: config.batch.skipSilence });
      let failed = 0;
      try {
        await engines.load(config.model.name, { makeDefault: true });
        for (const file of files) {
          try {
            const audio = await decodeFile(file);
            const { transcript } = await service.transcribe({
              source: 'cli',
              audio: audio.samples,
              options: { language, task, beamSize: config.model.beamSize, wordTimestamps: format === 'srt' || format === 'vtt' || format === 'verbose_json' },
            });
            const out = render(transcript, format, { seed: true, words: format === 'verbose_json' });
            const body = typeof out.body === 'string' ? out.body : JSON.stringify(out.body) + '\n';
            if (files.length > 1 && format === 'text') process.stdout.write(`${file}: `);
            process.stdout.write(body);
          } catch (err) {
            failed++;
            process.stderr.write(`earshot: ${file}: ${(err as Error).message}\n`);
          }
        }
      } finally {
        await engines.close();
        await vad.close();
      }
      if (failed > 0) process.exitCode = 1;
    });
}
