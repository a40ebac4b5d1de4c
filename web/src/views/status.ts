// Status panel: model, engine, device (GPU or CPU), LLM, sessions, queue, filter counts; updated
// by the monitor's status messages every 2 s.
import { h } from '../dom.js';
import { bytes, duration } from '../format.js';
import type { ConnectionState, MonitorClient } from '../monitor.js';
import type { Status } from '../types.js';

type Field = [label: string, key: string];

const GROUPS: Array<[title: string, fields: Field[]]> = [
  [
    'Server',
    [
      ['State', 'state'],
      ['Version', 'version'],
      ['Uptime', 'uptime'],
    ],
  ],
  [
    'Model',
    [
      ['Model', 'model'],
      ['Engine', 'engine'],
      ['Device', 'device'],
      ['VAD', 'vad'],
    ],
  ],
  [
    'Hardware',
    [
      ['Processor', 'hardware'],
      ['Load', 'load'],
      ['Memory', 'memory'],
      ['Server', 'server-memory'],
    ],
  ],
  [
    'Keywords LLM',
    [
      ['LLM', 'llm'],
      ['Model', 'llm-model'],
      ['Latency', 'llm-latency'],
      ['Errors', 'llm-errors'],
    ],
  ],
  [
    'Activity',
    [
      ['Sessions', 'sessions'],
      ['Queue', 'queue'],
      ['Workers', 'workers'],
      ['History', 'history'],
    ],
  ],
  [
    'Hallucination filter',
    [
      ['Checked', 'filter-checked'],
      ['Dropped', 'filter-dropped'],
      ['Trimmed', 'filter-trimmed'],
    ],
  ],
];

export class StatusPanel {
  readonly el: HTMLElement;
  private readonly values = new Map<string, HTMLElement>();
  private readonly connection: HTMLElement;
  private readonly gpuBar: HTMLElement;

  constructor(monitor: MonitorClient) {
    this.connection = h('span', { class: 'conn', 'data-state': 'closed', text: 'offline' });
    this.gpuBar = h('div', { class: 'meter', hidden: true, role: 'img', 'aria-label': 'GPU memory' }, h('span'));
    this.el = h(
      'aside',
      { class: 'status-panel', 'aria-labelledby': 'status-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'status-title', text: 'Status' }), this.connection),
      ...GROUPS.map(([title, fields]) =>
        h(
          'section',
          { class: 'status-group' },
          h('h3', { text: title }),
          h(
            'dl',
            null,
            ...fields.flatMap(([label, key]) => {
              const dd = h('dd', { 'data-field': key, text: '–' });
              this.values.set(key, dd);
              return [h('dt', { text: label }), dd];
            }),
          ),
          title === 'Hardware' ? this.gpuBar : null,
        ),
      ),
    );
    monitor.onState((s) => this.setConnection(s));
    monitor.onMessage((msg) => {
      if (msg.type === 'snapshot') this.render(msg.status);
      else if (msg.type === 'status') this.render(msg);
    });
  }

  private set(key: string, text: string, tone?: 'ok' | 'warn' | 'bad'): void {
    const el = this.values.get(key)!;
    el.textContent = text;
    if (tone) el.dataset.tone = tone;
    else delete el.dataset.tone;
  }

  private setConnection(state: ConnectionState): void {
    this.connection.dataset.state = state;
    this.connection.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : 'offline';
  }

  render(s: Status): void {
    this.set('state', s.status === 'ok' ? 'ready' : s.status, s.status === 'ok' ? 'ok' : s.status === 'error' ? 'bad' : 'warn');
    this.set('version', s.version);
    this.set('uptime', duration(s.uptime));
    const def = s.models.find((m) => m.default);
    this.set('model', s.model);
    this.set('engine', s.engine ?? def?.kind ?? '–');
    const gpus = s.system.gpu ?? [];
    const gpu = gpus[0];
    this.set('device', s.device === 'cuda' ? `GPU${gpu ? ` (${gpu.name})` : ''}` : 'CPU', s.device === 'cuda' ? 'ok' : undefined);
    this.set('vad', s.vad ?? '–');
    if (gpu) {
      const used = gpu.memory_used_mib ?? 0;
      const total = gpu.memory_total_mib ?? 0;
      this.set('hardware', `${gpu.name}${gpus.length > 1 ? ` (+${gpus.length - 1})` : ''}`);
      this.set('load', gpu.utilization_percent !== null ? `GPU ${gpu.utilization_percent}%` : '–');
      this.set('memory', total ? `${bytes(used * 1048576)} / ${bytes(total * 1048576)} GPU` : '–');
      this.set('server-memory', `${bytes(s.system.memory.process_rss)} RSS`);
      this.gpuBar.hidden = !total;
      const share = total ? Math.min(100, (used / total) * 100) : 0;
      (this.gpuBar.firstElementChild as HTMLElement).style.width = `${share}%`;
      this.gpuBar.setAttribute('aria-label', `GPU memory ${Math.round(share)}% used`);
    } else {
      const cpu = s.system.cpu;
      this.set('hardware', `CPU · ${cpu.cores} core${cpu.cores === 1 ? '' : 's'}${cpu.model ? ` · ${cpu.model}` : ''}`);
      this.set('load', `${cpu.usage_percent ?? '–'}% · load ${cpu.load[0]?.toFixed(2) ?? '–'}`);
      const m = s.system.memory;
      this.set('memory', `${bytes(m.total - m.free)} / ${bytes(m.total)}`);
      this.set('server-memory', `${bytes(m.process_rss)} RSS`);
      this.gpuBar.hidden = true;
    }
    const llm = s.llm;
    if (!llm?.enabled) this.set('llm', 'off');
    else if (!llm.configured) this.set('llm', 'none (built-in keywords)');
    else if (llm.reachable === null) this.set('llm', 'configured, not called yet', 'warn');
    else this.set('llm', llm.reachable ? 'reachable' : `unreachable${llm.fallback ? ' (built-in keywords)' : ''}`, llm.reachable ? 'ok' : 'bad');
    this.set('llm-model', llm?.model ?? '–');
    this.set('llm-latency', llm?.last_latency_ms != null ? `${llm.last_latency_ms} ms` : '–');
    this.set('llm-errors', llm?.calls ? `${Math.round(llm.error_rate * 100)}% of last calls` : '–');
    this.set('sessions', `${s.sessions.active} active`);
    this.set('queue', `${s.queue.queued} waiting · ${s.queue.busy} running`, s.queue.queued > 0 ? 'warn' : undefined);
    this.set('workers', String(s.queue.workers));
    this.set('history', s.history.enabled ? `${s.history.entries ?? '–'} transcripts` : 'off');
    this.set('filter-checked', String(s.filter?.checked ?? '–'));
    this.set('filter-dropped', String(s.filter?.dropped ?? '–'));
    this.set('filter-trimmed', String(s.filter?.trimmed ?? '–'));
  }
}
