// Shapes of what the server sends. The live-text messages are the server's own types
// (src/app/wire-types.ts, projected from the one typed event map), so they cannot drift apart.
import type {
  MonitorSession,
  MonitorSnapshotSession,
  WireFinal,
  WireKeywords,
  WirePartial,
  WireTranscription,
  WireUtteranceKeywords,
} from '../../src/app/wire-types.js';

/** A keyword as live results carry it (with its score) or as the history stores it (without). */
export type Keyword = Omit<WireKeywords['keywords'][number], 'score'> & { score?: number };
export type Keywords = WireKeywords;

export interface Segment {
  start: number;
  end: number;
  text: string;
}

/** /ws messages carry no session_id; the monitor feed's do. */
export type PartialMsg = { type: 'partial'; session_id?: string } & WirePartial;
export type FinalMsg = { type: 'final'; session_id?: string } & WireFinal;
export type KeywordsMsg = { type: 'keywords'; session_id?: string } & WireUtteranceKeywords;
export type TranscriptionMsg = WireTranscription;
export type SessionInfo = MonitorSession;
export type SnapshotSession = MonitorSnapshotSession;

export interface GpuInfo {
  index: number;
  name: string;
  memory_used_mib: number | null;
  memory_total_mib: number | null;
  utilization_percent: number | null;
  temperature_c: number | null;
}

export interface LlmStatus {
  enabled: boolean;
  configured: boolean;
  reachable: boolean | null;
  url: string | null;
  model: string | null;
  last_latency_ms: number | null;
  error_rate: number;
  calls: number;
  failures: number;
  last_error: string | null;
  fallback: boolean;
}

export interface ModelStatus {
  id: string;
  state: string;
  default: boolean;
  kind: string | null;
  device: string | null;
  workers: number;
  busy: number;
  queued: number;
  restarts: number;
  completed: number;
  failed: number;
}

export interface Status {
  time: string;
  version: string;
  uptime: number;
  status: 'ok' | 'loading' | 'error';
  model: string;
  engine: string | null;
  device: 'cpu' | 'cuda';
  models: ModelStatus[];
  queue: { workers: number; busy: number; queued: number };
  sessions: { active: number; list: Array<{ id: string; started: string; model: string; language: string | null; remote: string }> };
  filter: { checked: number; dropped: number; trimmed: number; byRule: Record<string, number> } | null;
  llm: LlmStatus | null;
  vad: string | null;
  history: { enabled: boolean; entries: number | null };
  system: {
    gpu: GpuInfo[] | null;
    cpu: { model: string | null; cores: number; load: number[]; usage_percent: number | null };
    memory: { total: number; free: number; process_rss: number; process_heap_used: number };
  };
}

export type MonitorMsg =
  | { type: 'snapshot'; sessions: SnapshotSession[]; transcriptions: TranscriptionMsg[]; status: Status }
  | ({ type: 'status' } & Status)
  | ({ type: 'session' } & SessionInfo)
  | PartialMsg
  | FinalMsg
  | KeywordsMsg
  | TranscriptionMsg;

export interface HistoryEntry {
  id: number;
  created_at: string;
  kind: 'stream' | 'batch';
  source: 'ws' | 'wyoming' | 'realtime' | 'rest' | 'openai' | (string & {});
  text: string;
  language: string | null;
  model: string | null;
  session_id: string | null;
  utterance_id: string | null;
  start: number | null;
  end: number | null;
  duration: number | null;
  segments: Segment[];
  keywords: Keyword[];
}

export interface HistoryPage {
  items: HistoryEntry[];
  total: number;
  page: number;
  page_size: number;
  pages: number;
}
