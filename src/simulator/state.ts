import { CallLog } from './call-log.js';
import type { Faults } from './faults.js';
import type { ResolvedSimulatorOptions } from './options.js';
import { RequestStats } from './request-stats.js';
import { SessionStore } from './session-store.js';
import { TokenBuckets } from './token-bucket.js';

/** Everything a running simulator knows; the handlers read and change it. */
export interface SimulatorState {
  /** The options it started with (what `reset()` goes back to). */
  readonly options: ResolvedSimulatorOptions;
  readonly store: SessionStore;
  stats: RequestStats;
  readonly buckets: TokenBuckets;
  readonly callLog: CallLog;
  /** Current faults (changed at run time by `setFaults` / `POST /_sim/faults`). */
  faults: Faults;
  /** `http://host:port`, once listening. */
  baseUrl: string;
  /** When the simulator started (epoch ms): its project's `createdAt`. */
  readonly startedAtMs: number;
  /** The project each accepted API key belongs to. */
  readonly keyProjects: Map<string, string>;
  /** Keys revoked at run time (`revokeKey`, `POST /_sim/keys`): they answer 401 until `reset()`. */
  readonly revokedKeys: Set<string>;
  /** Request counters per project (requests with a valid key only). */
  projectStats: Map<string, RequestStats>;
}

/** The project of an accepted, unrevoked key; undefined for any other key. */
export function projectOfKey(state: SimulatorState, key: unknown): string | undefined {
  if (typeof key !== 'string' || state.revokedKeys.has(key)) return undefined;
  return state.keyProjects.get(key);
}

/** The request counters of one project, made on first use. */
export function statsOfProject(state: SimulatorState, projectId: string): RequestStats {
  let s = state.projectStats.get(projectId);
  if (!s) state.projectStats.set(projectId, (s = new RequestStats()));
  return s;
}

const copyFaults = (f: Faults): Faults => ({ ...f, latencyMs: [f.latencyMs[0], f.latencyMs[1]] });

export function createState(options: ResolvedSimulatorOptions): SimulatorState {
  return {
    options,
    store: new SessionStore(options.releaseDelayMs),
    stats: new RequestStats(),
    buckets: new TokenBuckets(options.rate, options.burst),
    callLog: new CallLog(options.logRequests ? options.callLogSize : 0),
    faults: copyFaults(options.faults),
    baseUrl: '',
    startedAtMs: Date.now(),
    keyProjects: new Map(Object.entries(options.projects).flatMap(([id, keys]) => keys.map((k) => [k, id] as const))),
    revokedKeys: new Set(),
    projectStats: new Map(),
  };
}

/** Sessions, stats, call log, faults, rate and buckets back to how the simulator started. */
export function resetState(state: SimulatorState): void {
  state.store.clear();
  state.stats.reset();
  state.projectStats = new Map();
  state.revokedKeys.clear();
  state.callLog.clear();
  state.faults = copyFaults(state.options.faults);
  state.buckets.configure(state.options.rate, state.options.burst);
  state.buckets.clear();
}
