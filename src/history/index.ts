// Transcript history: the store interface (types.ts) and its implementations, SQLite for one node and
// PostgreSQL for a cluster. What gets recorded is decided by the history recorder in src/app, a
// subscriber of the server's events.
export * from './types.js';
export { normalizeKeyword } from './search-text.js';
export { SqliteHistoryStore, ftsQuery, type SqliteHistoryOptions } from './sqlite.js';
export { PostgresHistoryStore, tsQuery } from './postgres.js';
