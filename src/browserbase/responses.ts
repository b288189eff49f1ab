import { z } from 'zod';
import type { RecordingEvent, Session, SessionLiveUrls, SessionWithConnect } from './types.js';

/**
 * The shapes a 2xx answer must have. Only the fields bb-reaper relies on are checked; every other
 * field (documented, legacy like `avgCpuUsage`, or future) passes through untouched. A 2xx that
 * does not match is reported as a malformed response (`TRANSIENT`).
 */
const session = z.looseObject({ id: z.string().min(1), status: z.string().min(1) });

const liveUrls = z.looseObject({
  debuggerFullscreenUrl: z.string(),
  debuggerUrl: z.string(),
  wsUrl: z.string(),
  pages: z.array(z.looseObject({ id: z.string() })),
});

const recordingEvent = z.looseObject({ timestamp: z.number(), type: z.number() });

/** What each action expects: a zod schema typed as the public result type. */
export const RESPONSE_SHAPES = {
  session: session as unknown as z.ZodType<SessionWithConnect>,
  sessionList: z.array(session) as unknown as z.ZodType<Session[]>,
  liveUrls: liveUrls as unknown as z.ZodType<SessionLiveUrls>,
  recording: z.array(recordingEvent) as unknown as z.ZodType<RecordingEvent[]>,
} as const;

/** The `message` of an error body (`{"statusCode", "error", "message"}`), if it has one. */
export function errorBodyMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const m = (body as { message?: unknown }).message;
  if (typeof m === 'string') return m;
  if (Array.isArray(m) && m.every((x) => typeof x === 'string')) return m.join('; ');
  return undefined;
}

/** Parses a body as JSON, or `undefined` when it is empty or not JSON. */
export function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Checks a parsed 2xx body; returns the typed value or a sentence saying what is wrong. */
export function checkShape<T>(schema: z.ZodType<T>, body: unknown): { ok: true; value: T } | { ok: false; problem: string } {
  if (body === undefined) return { ok: false, problem: 'the body is empty or not JSON' };
  const r = schema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `\`${issue.path.join('.')}\`` : 'the body';
  return { ok: false, problem: `${where}: ${issue?.message ?? 'unexpected shape'}` };
}
