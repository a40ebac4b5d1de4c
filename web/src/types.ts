// Shapes of what the server sends (see src/server/routes/ws.ts and monitor.ts).

export interface Keyword {
  text: string;
  category: string;
  score?: number;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
}

export interface PartialMsg {
  type: 'partial';
  session_id?: string;
  utterance_id: number | string;
  revision: number;
  committed: string;
  tentative: string;
}

export interface FinalMsg {
  type: 'final';
  session_id?: string;
  utterance_id: number | string;
  text: string;
  start: number;
  end: number;
  language: string;
  segments: Segment[];
}

export interface KeywordsMsg {
  type: 'keywords';
  session_id?: string;
  utterance_id: number | string;
  status: string;
  keywords: Keyword[];
  categories: string[];
  source: string;
}

export interface TranscriptionMsg {
  type: 'transcription';
  source: string;
  time: string;
  text: string;
  language: string;
  duration: number;
  model: string;
  segments: Segment[];
}

export interface SessionInfo {
  id: string;
  state: 'started' | 'ended';
  started: string;
  ended: string | null;
  model: string | null;
  language: string | null;
  remote: string | null;
}

export interface SnapshotSession extends SessionInfo {
  utterances: Array<{ utterance_id: number | string; partial?: Omit<PartialMsg, 'type'>; final?: Omit<FinalMsg, 'type'>; keywords?: Omit<KeywordsMsg, 'type'> }>;
}

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
  | ({ type: 'snapshot'; sessions: SnapshotSession[]; transcriptions: TranscriptionMsg[]; status: Status })
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
  source: 'ws' | 'rest' | 'openai';
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
