// Minimal CLI with only `listen`, for running the command before it is wired into bin/earshot.js.
import { Command } from 'commander';
import { register } from '../../../src/cli/commands/listen.js';

const program = new Command().name('earshot');
register(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`earshot: ${(err as Error).message}\n`);
  process.exit(1);
});
