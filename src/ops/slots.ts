import { withRetries, type BrowserbaseClient, type Project, type Session } from '../browserbase/index.js';
import { getQueueStats, type Queues } from '../shared/queues.js';
import { sessionStartMs } from '../sweep/find-orphans.js';

/** How many of the oldest active sessions {@link readSlots} reports by default. */
export const DEFAULT_OLDEST_LIMIT = 10;
/** Most of the oldest sessions one report may list (`slots --limit`, `GET /api/slots?limit`). */
export const MAX_SLOTS_LIMIT = 1000;

/** What {@link readSlots} calls: the client's session list and its two project reads. */
export type SlotsClient = Pick<BrowserbaseClient, 'listSessions' | 'listProjects' | 'getProject'>;

/** One active session as the slots screen shows it. */
export interface SlotSession {
  id: string;
  status: string;
  startedAt: string;
  /** ms since `startedAt` (else `createdAt`) when listed; null when neither is a readable time. */
  ageMs: number | null;
  userMetadata?: Record<string, unknown>;
}

/** `bb-reaper slots --json`, `stats`' `slots` and `GET /api/slots`. */
export interface SlotsReport {
  /** The project whose slots these are: `projectId` when given, else the key's first project; null when the key lists none. */
  project: { id: string; concurrency: number } | null;
  /** Sessions holding a slot now, by status (a session listed under both counts once, as RUNNING). */
  active: { running: number; pending: number };
  /** `concurrency - (running + pending)`, never negative; null without a project. */
  free: number | null;
  /** The oldest active sessions, oldest first (unknown ages last), at most `limit`. */
  oldest: SlotSession[];
  /** Closes not yet done in the close queue: waiting (with prioritized), active and delayed jobs. */
  pendingCloses: number;
  /** When the sessions were listed, ms since the epoch. */
  at: number;
}

export interface ReadSlotsOptions {
  client: SlotsClient;
  /** For the pending closes. */
  queues: Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue'>;
  /** The configured project (`BROWSERBASE_PROJECT_ID`); default: the first project the key lists. */
  projectId?: string;
  /** How many of the oldest sessions to report. Default {@link DEFAULT_OLDEST_LIMIT}. */
  limit?: number;
  signal?: AbortSignal;
}

/**
 * The one screen before a sweep: the project's concurrency, the RUNNING/PENDING sessions holding
 * its slots, the oldest of them and the closes still queued. Reads are retried on 429/5xx; API
 * errors (`BrowserbaseError`) reach the caller.
 */
export async function readSlots({ client, queues, projectId, limit = DEFAULT_OLDEST_LIMIT, signal }: ReadSlotsOptions): Promise<SlotsReport> {
  const retried = <T>(fn: () => Promise<T>) => withRetries(fn, { retries: 3, ...(signal ? { signal } : {}) });
  const [project, running, pending, queue] = await Promise.all([
    retried(async () => (projectId !== undefined ? client.getProject(projectId, { signal }) : (await client.listProjects({ signal }))[0])),
    retried(() => client.listSessions({ status: 'RUNNING' }, { signal })),
    retried(() => client.listSessions({ status: 'PENDING' }, { signal })),
    getQueueStats(queues),
  ]);
  return summarizeSlots({ project: project ?? null, running, pending, pendingCloses: queue.waiting + queue.active + queue.delayed, limit });
}

/** The report from what was read. Pure. */
export function summarizeSlots({
  project,
  running,
  pending,
  pendingCloses,
  limit = DEFAULT_OLDEST_LIMIT,
  now = Date.now(),
}: {
  project: Pick<Project, 'id' | 'concurrency'> | null;
  running: readonly Session[];
  pending: readonly Session[];
  pendingCloses: number;
  limit?: number;
  now?: number;
}): SlotsReport {
  const seen = new Map<string, Session>();
  for (const s of [...running, ...pending]) if (!seen.has(s.id)) seen.set(s.id, s);
  const sessions = [...seen.values()];
  const runningCount = sessions.filter((s) => s.status !== 'PENDING').length;
  const pendingCount = sessions.length - runningCount;
  const concurrency = project && Number.isFinite(project.concurrency) ? project.concurrency : null;
  const oldest = sessions
    .map((s): SlotSession => {
      const start = sessionStartMs(s);
      return {
        id: s.id,
        status: s.status,
        startedAt: s.startedAt,
        ageMs: Number.isFinite(start) ? Math.max(0, now - start) : null,
        ...(s.userMetadata !== undefined ? { userMetadata: s.userMetadata } : {}),
      };
    })
    .sort((a, b) => (b.ageMs ?? -1) - (a.ageMs ?? -1))
    .slice(0, limit);
  return {
    project: project ? { id: project.id, concurrency: concurrency ?? 0 } : null,
    active: { running: runningCount, pending: pendingCount },
    free: concurrency === null ? null : Math.max(0, concurrency - sessions.length),
    oldest,
    pendingCloses,
    at: now,
  };
}
