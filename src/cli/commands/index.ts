import type { Command } from 'commander';
import { register as serve } from './serve.js';
import { register as transcribe } from './transcribe.js';
import { register as enrich } from './enrich.js';
import { register as models } from './models.js';
import { register as listen } from './listen.js';
import { register as wyoming } from './wyoming.js';

/** Each command module exports register(program); add new ones here. */
export function registerCommands(program: Command): void {
  serve(program);
  transcribe(program);
  enrich(program);
  models(program);
  listen(program);
  wyoming(program);
}
