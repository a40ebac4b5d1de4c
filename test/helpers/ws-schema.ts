// Checks /ws messages against the published protocol (docs/ws-protocol.schema.json) with ajv, so the
// streaming tests prove that every message the server really sends is what the document promises.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';

const SCHEMA_PATH = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'docs', 'ws-protocol.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: false });
ajv.addSchema(schema);
const serverMessage = ajv.getSchema(`${schema.$id}#/$defs/serverMessage`)!;
const clientMessage = ajv.getSchema(`${schema.$id}#/$defs/clientMessage`)!;

/** Throws (an assertion failure naming the message) unless `msg` is a valid server→client message. */
export function assertServerMessage(msg: unknown): void {
  if (serverMessage(msg)) return;
  assert.fail(`/ws message does not match docs/ws-protocol.schema.json: ${JSON.stringify(msg)}\n${ajv.errorsText(serverMessage.errors)}`);
}

export function isServerMessage(msg: unknown): boolean {
  return serverMessage(msg) as boolean;
}

export function isClientMessage(msg: unknown): boolean {
  return clientMessage(msg) as boolean;
}
