// --exec: run a command with the transcript, never through a shell, so spoken words cannot become shell syntax.
import { childEnv } from '../config/env.js';
import { spawn } from 'node:child_process';

/**
 * Splits a command line into argv the way a POSIX shell would for plain words and quotes ('…', "…", \x),
 * without expansions, pipes or redirections — those need an explicit `sh -c '…'`, which is then the user's choice.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) current += line[++i];
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in --exec command`);
  if (inWord) args.push(current);
  if (!args.length) throw new Error('--exec command is empty');
  return args;
}

export interface ExecContext {
  text: string;
  wakeword: string;
  language?: string;
}

/** Runs `command … <text>` with EARSHOT_TEXT etc. in the environment; resolves with the exit code. */
export function runExec(command: string, context: ExecContext, options: { stdoutToStderr?: boolean } = {}): Promise<number> {
  const [file, ...args] = splitCommand(command);
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args, context.text], {
      shell: false,
      stdio: ['ignore', options.stdoutToStderr ? process.stderr : 'inherit', 'inherit'],
      env: childEnv({
        EARSHOT_TEXT: context.text,
        EARSHOT_WAKEWORD: context.wakeword,
        ...(context.language ? { EARSHOT_LANGUAGE: context.language } : {}),
      }),
    });
    child.once('error', (err) => reject(new Error(`--exec ${file}: ${err.message}`)));
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
