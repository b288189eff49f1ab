import { withRetries, type BrowserbaseClient, type Session } from '../browserbase/index.js';

/** What a sweep looks for. This is also the data of a scheduled sweep job: it never holds a key. */
export interface SweepParams {
  /** A session is an orphan once it has been running this long, in ms. */
  olderThanMs: number;
  /** Only sessions matching this user-metadata query, e.g. `user_metadata['owner']:'ci'`. Default: all. */
  q?: string;
  /** Also close sessions created with `keepAlive: true`. Default false. */
  includeKeepAlive?: boolean;
}

/** An orphan as the sweep reports it. */
export interface OrphanSummary {
  id: string;
  status: string;
  startedAt: string;
  /** ms since `startedAt` when the sweep looked. */
  ageMs: number;
  keepAlive: boolean;
  region: string;
  userMetadata?: Record<string, unknown>;
}

export interface OrphanSelection {
  /** Active (RUNNING or PENDING) sessions listed. */
  scanned: number;
  orphans: OrphanSummary[];
  /** Old enough, but `keepAlive` and not `includeKeepAlive`. */
  skippedKeepAlive: number;
  /** Younger than `olderThanMs`. */
  skippedYoung: number;
  /** No readable `startedAt` / `createdAt`: never closed by a sweep. */
  skippedUnknownAge: number;
}

/** When the session started, in ms since the epoch (`startedAt`, else `createdAt`); NaN if unreadable. */
export function sessionStartMs(s: Pick<Session, 'startedAt' | 'createdAt'>): number {
  const started = Date.parse(s.startedAt);
  return Number.isFinite(started) ? started : Date.parse(s.createdAt);
}

/** Picks the orphans among active sessions. Pure. */
export function selectOrphans(sessions: readonly Session[], params: SweepParams, now = Date.now()): OrphanSelection {
  const out: OrphanSelection = { scanned: sessions.length, orphans: [], skippedKeepAlive: 0, skippedYoung: 0, skippedUnknownAge: 0 };
  for (const s of sessions) {
    if (s.status !== 'RUNNING' && s.status !== 'PENDING') continue;
    const start = sessionStartMs(s);
    if (!Number.isFinite(start)) {
      out.skippedUnknownAge++;
      continue;
    }
    const ageMs = now - start;
    if (ageMs < params.olderThanMs) {
      out.skippedYoung++;
      continue;
    }
    if (s.keepAlive && !params.includeKeepAlive) {
      out.skippedKeepAlive++;
      continue;
    }
    out.orphans.push({
      id: s.id,
      status: s.status,
      startedAt: s.startedAt,
      ageMs,
      keepAlive: Boolean(s.keepAlive),
      region: String(s.region),
      ...(s.userMetadata !== undefined ? { userMetadata: s.userMetadata } : {}),
    });
  }
  out.orphans.sort((a, b) => b.ageMs - a.ageMs);
  return out;
}

/**
 * Lists RUNNING and PENDING sessions (one request each, retried on 429/5xx) and selects the
 * orphans. A session seen in both lists (it started in between) counts once.
 */
export async function findOrphans(client: BrowserbaseClient, params: SweepParams, { signal }: { signal?: AbortSignal } = {}): Promise<OrphanSelection> {
  const seen = new Map<string, Session>();
  for (const status of ['RUNNING', 'PENDING'] as const) {
    const list = await withRetries(() => client.listSessions({ status, ...(params.q ? { q: params.q } : {}) }, { signal }), { retries: 4, signal });
    for (const s of list) if (!seen.has(s.id)) seen.set(s.id, s);
  }
  return selectOrphans([...seen.values()], params);
}
