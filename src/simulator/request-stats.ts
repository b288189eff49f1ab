import type { SessionStatus } from '../browserbase/types.js';

/** Counters of the simulator (`GET /_sim/stats`). Only `/v1` requests count; admin calls do not. */
export interface SimulatorStats {
  requests: {
    /** `/v1` requests received (any outcome, including 401 and 429). */
    total: number;
    /** Answered requests by HTTP status, e.g. `{"200": 10, "429": 3}`. */
    byStatus: Record<string, number>;
    /** Requests whose socket was reset by the `resetRate` fault. */
    resets: number;
    /** Requests left unanswered by the `hangRate` fault. */
    hangs: number;
    /** Requests the client abandoned before the answer (e.g. its timeout during injected latency). */
    aborted: number;
    /** Requests being handled right now (hung ones included until their socket closes). */
    inFlight: number;
  };
  closes: {
    /** Close POSTs (`POST /v1/sessions/{id}`) received, whatever their outcome (401, 429 and faults included). */
    calls: number;
    /**
     * Distinct session ids among the calls with a valid key (a keyless or wrong-key call is
     * counted in `calls` only), at most {@link MAX_DISTINCT_CLOSE_IDS} of them.
     */
    distinctSessions: number;
    /** Closes that answered 200 on an active (RUNNING/PENDING) session, re-releases included. */
    released: number;
    /** Sessions released by more than one successful close. */
    releasedMoreThanOnce: number;
    /** Closes answered 404 (unknown id or another project's session). */
    notFound: number;
    /** Closes of an already-terminal session (answered per `closeFinished`). */
    alreadyFinished: number;
  };
  /** Sessions by status, every status listed. */
  sessions: Record<SessionStatus, number>;
  /** Most `/v1` requests (any status) that arrived within any sliding 1000 ms window (1 ms resolution). */
  maxRequestsInAnySecond: number;
  /** Most `/v1` requests handled at the same time. */
  maxInFlight: number;
  /** `/v1` requests per wall-clock second (epoch seconds), for seconds that had any; the last 3600 kept. */
  perSecond: Array<{ second: number; count: number }>;
  /**
   * The same counters for each project that received a request with a valid key (each key
   * belongs to one project: see the `projects` option), so each account can be measured on its own.
   */
  byProject: Record<string, ProjectStats>;
}

/** Counters of one project in {@link SimulatorStats.byProject}. */
export interface ProjectStats {
  requests: number;
  byStatus: Record<string, number>;
  maxRequestsInAnySecond: number;
  maxInFlight: number;
  /** Closes that answered 200 on one of its active sessions. */
  released: number;
  /** Closes with its key answered 404 (another project's session, or an unknown id). */
  notFound: number;
  /** Its sessions by status. */
  sessions: Record<SessionStatus, number>;
}

const WINDOW_MS = 1000;
const PER_SECOND_KEPT = 3600;
/** Most distinct closed ids `closes.distinctSessions` tracks (memory stays bounded, ~100 MB at most). */
export const MAX_DISTINCT_CLOSE_IDS = 1_000_000;

/**
 * Request counters kept in O(1) per request: the sliding-window maximum uses a ring of 1000
 * one-millisecond buckets, per-second counts a bounded list.
 */
export class RequestStats {
  total = 0;
  byStatus: Record<string, number> = {};
  resets = 0;
  hangs = 0;
  aborted = 0;
  inFlight = 0;
  maxInFlight = 0;
  closeCalls = 0;
  released = 0;
  releasedMoreThanOnce = 0;
  closesNotFound = 0;
  closesAlreadyFinished = 0;
  private closedIds = new Set<string>();
  private slots = new Uint32Array(WINDOW_MS);
  private lastMs = -1;
  private windowSum = 0;
  private maxInWindow = 0;
  private perSecond: Array<{ second: number; count: number }> = [];

  /**
   * Counts a `/v1` request arriving at monotonic time `nowMs` (e.g. `performance.now()`) and
   * wall-clock time `wallMs`.
   */
  recordArrival(nowMs: number, wallMs: number): void {
    this.total += 1;
    this.inFlight += 1;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    this.countInWindow(Math.floor(nowMs));
    const second = Math.floor(wallMs / 1000);
    const last = this.perSecond[this.perSecond.length - 1];
    if (last && last.second === second) last.count += 1;
    else {
      this.perSecond.push({ second, count: 1 });
      if (this.perSecond.length > PER_SECOND_KEPT) this.perSecond.shift();
    }
  }

  private countInWindow(ms: number): void {
    if (this.lastMs < 0) this.lastMs = ms;
    else if (ms > this.lastMs) {
      if (ms - this.lastMs >= WINDOW_MS) {
        this.slots.fill(0);
        this.windowSum = 0;
      } else {
        for (let m = this.lastMs + 1; m <= ms; m++) {
          const i = m % WINDOW_MS;
          this.windowSum -= this.slots[i] ?? 0;
          this.slots[i] = 0;
        }
      }
      this.lastMs = ms;
    }
    const i = this.lastMs % WINDOW_MS;
    this.slots[i] = (this.slots[i] ?? 0) + 1;
    this.windowSum += 1;
    if (this.windowSum > this.maxInWindow) this.maxInWindow = this.windowSum;
  }

  /** Counts a request the `resetRate` or `hangRate` fault left unanswered (at the moment it is decided). */
  recordFault(kind: 'reset' | 'hang'): void {
    if (kind === 'reset') this.resets += 1;
    else this.hangs += 1;
  }

  /**
   * Counts the end of a request: answered with `status`, or unanswered (`status` undefined) because
   * of a fault already counted (`faulted`) or because the client went away.
   */
  recordDone(status: number | undefined, faulted: boolean): void {
    this.inFlight -= 1;
    if (status !== undefined) {
      const k = String(status);
      this.byStatus[k] = (this.byStatus[k] ?? 0) + 1;
    } else if (!faulted) this.aborted += 1;
  }

  /**
   * Counts a close POST for `sessionId`; its id joins the distinct ids only when the call had a
   * valid key (anyone can send keyless calls with made-up ids) and fewer than the cap are held.
   */
  recordCloseCall(sessionId: string, authenticated: boolean): void {
    this.closeCalls += 1;
    if (authenticated && this.closedIds.size < MAX_DISTINCT_CLOSE_IDS) this.closedIds.add(sessionId);
  }

  /** Zeroes every counter; requests in flight stay counted as in flight. */
  reset(): void {
    const inFlight = this.inFlight;
    Object.assign(this, new RequestStats());
    this.inFlight = inFlight;
  }

  /** A JSON-ready snapshot; `sessions` comes from the session store (`byProject` is the caller's to fill). */
  snapshot(sessions: Record<SessionStatus, number>): Omit<SimulatorStats, 'byProject'> {
    return {
      requests: {
        total: this.total,
        byStatus: { ...this.byStatus },
        resets: this.resets,
        hangs: this.hangs,
        aborted: this.aborted,
        inFlight: this.inFlight,
      },
      closes: {
        calls: this.closeCalls,
        distinctSessions: this.closedIds.size,
        released: this.released,
        releasedMoreThanOnce: this.releasedMoreThanOnce,
        notFound: this.closesNotFound,
        alreadyFinished: this.closesAlreadyFinished,
      },
      sessions,
      maxRequestsInAnySecond: this.maxInWindow,
      maxInFlight: this.maxInFlight,
      perSecond: this.perSecond.map((p) => ({ ...p })),
    };
  }
}
