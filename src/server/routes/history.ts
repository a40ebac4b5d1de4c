// Transcript history: GET /api/history (search, pages), GET/DELETE /api/history/:id, subtitles of an
// entry, and POST /api/subtitles (SRT/VTT from segments the dashboard already has, so a download
// never transcribes the file again).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Segment, Transcript } from '../../engines/types.js';
import { render } from '../../formats/index.js';
import { MAX_PAGE_SIZE, type HistoryEntry, type HistoryStore } from '../../history/types.js';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

/** The JSON shape of one entry (snake_case like the rest of the API). */
export function entryJson(e: HistoryEntry): Record<string, unknown> {
  return {
    id: e.id,
    created_at: new Date(e.createdAt).toISOString(),
    kind: e.kind,
    source: e.source,
    text: e.text,
    language: e.language,
    model: e.model,
    session_id: e.sessionId,
    utterance_id: e.utteranceId,
    start: e.start,
    end: e.end,
    duration: e.duration,
    segments: e.segments,
    keywords: e.keywords,
  };
}

export const listQuery = z.object({
  q: z.string().max(500).optional(),
  keyword: z.string().max(200).optional(),
  category: z.string().max(100).optional(),
  session: z.string().max(100).optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).optional(),
  page_size: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
});

const subtitleFormat = z.enum(['srt', 'vtt']);

export const subtitlesBody = z.object({
  format: subtitleFormat,
  language: z.string().max(16).optional(),
  segments: z.array(z.object({ start: z.number().min(0), end: z.number().min(0), text: z.string().max(10_000) })).max(20_000),
});

function invalid(error: z.ZodError): ApiError {
  const issue = error.issues[0]!;
  const param = issue.path.join('.') || undefined;
  return new ApiError(422, 'invalid_parameter', `${param ?? 'request'}: ${issue.message}`, param);
}

function parseId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id < 1 || String(id) !== raw) throw new ApiError(404, 'not_found', `no history entry "${raw}"`);
  return id;
}

/** A transcript over plain segments, enough for the subtitle writers. */
function segmentsTranscript(segments: Array<{ start: number; end: number; text: string }>, language: string | undefined): Transcript {
  const list: Segment[] = segments.map((s, i) => ({
    id: i,
    seek: 0,
    start: s.start,
    end: Math.max(s.start, s.end),
    text: s.text,
    tokens: [],
    temperature: 0,
    avgLogprob: 0,
    compressionRatio: 0,
    noSpeechProb: 0,
  }));
  return {
    text: list.map((s) => s.text.trim()).join(' '),
    language: language ?? 'auto',
    duration: list.length ? list[list.length - 1]!.end : 0,
    segments: list,
    task: 'transcribe',
    model: '',
    engine: 'whisper',
    processingTime: 0,
  };
}

function sendSubtitles(reply: FastifyReply, transcript: Transcript, format: 'srt' | 'vtt', name: string): FastifyReply {
  const out = render(transcript, format);
  return reply.type(out.contentType).header('content-disposition', `attachment; filename="${name}.${format}"`).send(out.body);
}

export async function historyRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const store = (): HistoryStore => {
    if (!ctx.history)
      throw new ApiError(503, 'history_disabled', 'transcript history is disabled on this server (config history.enabled) or its database could not be opened');
    return ctx.history;
  };

  app.get('/api/history', async (request) => {
    const parsed = listQuery.safeParse(request.query ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    const q = parsed.data;
    const page = await store().search({ text: q.q, keyword: q.keyword, category: q.category, sessionId: q.session, page: q.page, pageSize: q.page_size });
    return {
      items: page.items.map(entryJson),
      total: page.total,
      page: page.page,
      page_size: page.pageSize,
      pages: Math.max(1, Math.ceil(page.total / page.pageSize)),
    };
  });

  app.get('/api/history/:id', async (request) => {
    const { id } = request.params as { id: string };
    const entry = await store().get(parseId(id));
    if (!entry) throw new ApiError(404, 'not_found', `no history entry ${id}`);
    return entryJson(entry);
  });

  app.delete('/api/history/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (!(await store().delete(parseId(id)))) throw new ApiError(404, 'not_found', `no history entry ${id}`);
    return { success: true, id: Number(id) };
  });

  app.get('/api/history/:id/subtitles', async (request, reply) => {
    const { id } = request.params as { id: string };
    const format = subtitleFormat.safeParse((request.query as { format?: string }).format ?? 'srt');
    if (!format.success) throw new ApiError(422, 'invalid_parameter', 'format must be "srt" or "vtt"', 'format');
    const entry = await store().get(parseId(id));
    if (!entry) throw new ApiError(404, 'not_found', `no history entry ${id}`);
    // stream entries carry session times; subtitles of one utterance start at zero
    const offset = entry.kind === 'stream' ? (entry.start ?? 0) : 0;
    const segments = entry.segments.length ? entry.segments : [{ start: entry.start ?? 0, end: entry.end ?? entry.start ?? 0, text: entry.text }];
    const shifted = segments.map((s) => ({ start: Math.max(0, s.start - offset), end: Math.max(0, s.end - offset), text: s.text }));
    return sendSubtitles(reply, segmentsTranscript(shifted, entry.language ?? undefined), format.data, `transcript-${entry.id}`);
  });

  app.post('/api/subtitles', async (request, reply) => {
    const parsed = subtitlesBody.safeParse(request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    return sendSubtitles(reply, segmentsTranscript(parsed.data.segments, parsed.data.language), parsed.data.format, 'transcript');
  });
}
