import { randomUUID } from 'node:crypto';
import { SESSION_STATUSES, type Region, type Session, type SessionStatus } from '../browserbase/types.js';
import { matchesMetadataQuery, type MetadataQuery } from './metadata-query.js';
import { DEFAULT_SESSION_TIMEOUT_SECONDS } from './projects.js';

/** What a new session is made of; every field optional but the project. */
export interface NewSession {
  projectId: string;
  /** Default `RUNNING`. */
  status?: 'RUNNING' | 'PENDING';
  /** Default false. */
  keepAlive?: boolean;
  /** Default `us-west-2`. */
  region?: Region;
  userMetadata?: Record<string, unknown>;
  contextId?: string;
  /** Seconds ago the session started (seeded orphans); default 0. */
  startedAgoSeconds?: number;
  /** Seconds from now until `expiresAt`; default the project's `defaultTimeout` (3600). The simulator never times sessions out. */
  timeoutSeconds?: number;
}

interface SessionRecord {
  session: Session;
  /** Successful closes of this session while it was active. */
  releaseCount: number;
}

/** Outcome of a close (release request) on an existing session. */
export type ReleaseOutcome =
  | { kind: 'released'; session: Session; releaseCount: number }
  | { kind: 'terminal'; session: Session };

const isActive = (s: SessionStatus): boolean => s === 'RUNNING' || s === 'PENDING';
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The simulator's sessions. A released session still reads as before for `releaseDelayMs`, then
 * `COMPLETED` with `endedAt`: due releases are applied lazily (a FIFO, since the delay is fixed)
 * before every read, so no timer is kept per session.
 */
export class SessionStore {
  private sessions = new Map<string, SessionRecord>();
  private releases: Array<{ rec: SessionRecord; at: number }> = [];
  private releaseHead = 0;
  private counts = emptyCounts();
  private countsByProject = new Map<string, Record<SessionStatus, number>>();

  constructor(
    private readonly releaseDelayMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(p: NewSession): Session {
    const now = this.now();
    const started = now - Math.round((p.startedAgoSeconds ?? 0) * 1000);
    const session: Session = {
      id: randomUUID(),
      createdAt: iso(started),
      updatedAt: iso(started),
      projectId: p.projectId,
      startedAt: iso(started),
      expiresAt: iso(now + (p.timeoutSeconds ?? DEFAULT_SESSION_TIMEOUT_SECONDS) * 1000),
      status: p.status ?? 'RUNNING',
      proxyBytes: 0,
      keepAlive: p.keepAlive ?? false,
      region: p.region ?? 'us-west-2',
    };
    if (p.contextId !== undefined) session.contextId = p.contextId;
    if (p.userMetadata !== undefined) session.userMetadata = p.userMetadata;
    const rec: SessionRecord = { session, releaseCount: 0 };
    this.sessions.set(session.id, rec);
    this.counts[session.status] += 1;
    this.projectCounts(session.projectId)[session.status] += 1;
    return session;
  }

  /** The session with this id, with due releases applied. */
  get(id: string): Session | undefined {
    this.settle();
    return this.sessions.get(id)?.session;
  }

  /**
   * Requests the release of a session: an active one is scheduled to complete after the delay
   * (and a second close of it while it still reads active counts as another release).
   */
  release(id: string): ReleaseOutcome | undefined {
    this.settle();
    const rec = this.sessions.get(id);
    if (!rec) return undefined;
    if (!isActive(rec.session.status)) return { kind: 'terminal', session: rec.session };
    const now = this.now();
    rec.releaseCount += 1;
    rec.session.updatedAt = iso(now);
    if (rec.releaseCount === 1) {
      if (this.releaseDelayMs <= 0) this.complete(rec, now);
      else this.releases.push({ rec, at: now + this.releaseDelayMs });
    }
    return { kind: 'released', session: rec.session, releaseCount: rec.releaseCount };
  }

  /** Sessions of a project, newest first, filtered by status and metadata query. */
  list(projectId: string, status?: SessionStatus, query?: MetadataQuery): Session[] {
    this.settle();
    const out: Session[] = [];
    for (const { session } of this.sessions.values()) {
      if (session.projectId !== projectId) continue;
      if (status !== undefined && session.status !== status) continue;
      if (query && !matchesMetadataQuery(session.userMetadata, query)) continue;
      out.push(session);
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  /** Active (RUNNING or PENDING) sessions of a project. */
  activeCount(projectId: string): number {
    this.settle();
    const c = this.countsByProject.get(projectId);
    return c ? c.RUNNING + c.PENDING : 0;
  }

  /** Sessions by status (of one project, or all), every status listed. */
  countByStatus(projectId?: string): Record<SessionStatus, number> {
    this.settle();
    if (projectId === undefined) return { ...this.counts };
    return { ...(this.countsByProject.get(projectId) ?? emptyCounts()) };
  }

  clear(): void {
    this.sessions.clear();
    this.releases = [];
    this.releaseHead = 0;
    this.counts = emptyCounts();
    this.countsByProject.clear();
  }

  /** Completes every release that is due. */
  private settle(): void {
    if (this.releaseHead >= this.releases.length) return;
    const now = this.now();
    while (this.releaseHead < this.releases.length) {
      const next = this.releases[this.releaseHead];
      if (!next || next.at > now) break;
      this.releaseHead += 1;
      if (isActive(next.rec.session.status)) this.complete(next.rec, next.at);
    }
    if (this.releaseHead > 1024 && this.releaseHead * 2 > this.releases.length) {
      this.releases = this.releases.slice(this.releaseHead);
      this.releaseHead = 0;
    }
  }

  private complete(rec: SessionRecord, at: number): void {
    const s = rec.session;
    this.counts[s.status] -= 1;
    this.counts.COMPLETED += 1;
    const own = this.projectCounts(s.projectId);
    own[s.status] -= 1;
    own.COMPLETED += 1;
    s.status = 'COMPLETED';
    s.endedAt = iso(at);
    s.updatedAt = iso(at);
  }

  private projectCounts(projectId: string): Record<SessionStatus, number> {
    let c = this.countsByProject.get(projectId);
    if (!c) this.countsByProject.set(projectId, (c = emptyCounts()));
    return c;
  }
}

function emptyCounts(): Record<SessionStatus, number> {
  return Object.fromEntries(SESSION_STATUSES.map((s) => [s, 0])) as Record<SessionStatus, number>;
}
