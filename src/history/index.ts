// Transcript history: the store interface (types.ts) and its SQLite implementation. What gets
// recorded is decided by the history recorder in src/app, a subscriber of the server's events.
export * from './types.js';
export { SqliteHistoryStore, ftsQuery, normalizeKeyword } from './sqlite.js';
