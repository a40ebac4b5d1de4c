// earshot: one binary, thin commands over the layers below.
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerCommands } from './commands/index.js';

const program = new Command();
program.name('earshot').description('Self-hosted speech server and tools').version(VERSION);
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { message?: string; exitCode?: number };
  process.stderr.write(`earshot: ${e?.message ?? String(err)}\n`);
  process.exit(typeof e?.exitCode === 'number' ? e.exitCode : 1);
});
