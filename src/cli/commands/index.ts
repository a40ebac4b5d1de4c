import type { Command } from 'commander';

/** Each command module exports register(program); add new ones here. */
export function registerCommands(program: Command): void {
  void program;
}
