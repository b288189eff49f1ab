import { z } from 'zod';
import type { Project, ProjectUsage, RecordingEvent, Session, SessionLiveUrls, SessionLog, SessionWithConnect } from './types.js';

/**
 * The shapes a 2xx answer must have. Only the fields bb-reaper relies on are checked; every other
 * field (documented, legacy like `avgCpuUsage`, or future) passes through untouched. A 2xx that
 * does not match is reported as a malformed response (`TRANSIENT`).
 */
const session = z.looseObject({ id: z.string().min(1), status: z.string().min(1).max(64) });

const liveUrls = z.looseObject({
  debuggerFullscreenUrl: z.string(),
  debuggerUrl: z.string(),
  wsUrl: z.string(),
  pages: z.array(z.looseObject({ id: z.string() })),
});

const recordingEvent = z.looseObject({ timestamp: z.number(), type: z.number() });

const project = z.looseObject({ id: z.string().min(1) });
const projectUsage = z.looseObject({ browserMinutes: z.number(), proxyBytes: z.number() });
const sessionLog = z.looseObject({ method: z.string() });

/** What each action expects: a zod schema typed as the public result type. */
export const RESPONSE_SHAPES = {
  session: session as unknown as z.ZodType<SessionWithConnect>,
  sessionList: z.array(session) as unknown as z.ZodType<Session[]>,
  liveUrls: liveUrls as unknown as z.ZodType<SessionLiveUrls>,
  recording: z.array(recordingEvent) as unknown as z.ZodType<RecordingEvent[]>,
  sessionLogs: z.array(sessionLog) as unknown as z.ZodType<SessionLog[]>,
  project: project as unknown as z.ZodType<Project>,
  projectList: z.array(project) as unknown as z.ZodType<Project[]>,
  projectUsage: projectUsage as unknown as z.ZodType<ProjectUsage>,
} as const;

/** Most bytes read of a non-2xx answer's body; the rest is not read (the connection is dropped). */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Most bytes of a 2xx body (lists, recordings); beyond it the answer is `TRANSIENT` "too large". */
export const MAX_SUCCESS_BODY_BYTES = 64 * 1024 * 1024;
/** Longest `serverMessage` kept, in characters; a longer one is cut and ends with `…`. */
export const MAX_SERVER_MESSAGE_CHARS = 1000;

/** `text` cut to at most `max` characters, ending with `…` when cut (never inside a surrogate pair). */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * True when `body` is Browserbase's documented error body for this HTTP status:
 * `{"statusCode": <status>, "error": "<reason>", "message": "<text>"}` (the OpenAPI document's
 * error schema; `message` may also be a list of strings). A proxy's page, an empty body or
 * `{"error": "route not found"}` is not.
 */
export function isBrowserbaseErrorBody(body: unknown, status: number): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const b = body as { statusCode?: unknown; error?: unknown; message?: unknown };
  return b.statusCode === status && typeof b.error === 'string' && errorBodyMessage(body) !== undefined;
}

/**
 * True for the API framework's own "no such route" answer (`Route GET:/api/v1/sessions/x not
 * found`, Fastify's wording, which the simulator copies): the path matched no endpoint, so it says
 * nothing about the session.
 */
export function isRouteNotFound(message: string | undefined): boolean {
  return message !== undefined && /^Route [A-Z]+:\S* not found$/.test(message);
}

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
