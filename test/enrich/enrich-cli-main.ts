// Entry used by cli.test.ts: the enrich/llm commands on a bare commander program, run as a real
// process (stdout, exit code), independent of which other commands the main CLI registers.
import { Command } from 'commander';
import { register } from '../../src/cli/commands/enrich.js';

const program = new Command().name('earshot');
register(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`earshot: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
