import type { CallRecord, SimulatorStats } from '../../src/simulator/index.js';
import { spawnCli, type Child } from './child.js';

/** The simulator's API key in every benchmark. */
export const SIM_KEY = 'sim-key';

export interface SimProcessOptions {
  /** Token-bucket refill, requests/s (0 = no limit). Default 0. */
  rate?: number;
  /** Bucket size. Default the simulator's (`max(1, rate)`). */
  burst?: number;
  errorRate?: number;
  resetRate?: number;
  hangRate?: number;
  /** `[min, max]` ms before answering. Default none. */
  latencyMs?: [number, number];
  /** How long a released session still reads RUNNING (0: it ends at the release). Default the simulator's (100). */
  releaseDelayMs?: number;
  /** More projects, each with its own keys (`--project id=key,...`): an account per project. */
  projects?: Record<string, string[]>;
}

/** A `bb-reaper simulator` child process, driven through its admin API. */
export interface SimProcess {
  url: string;
  child: Child;
  /** Creates RUNNING sessions (any count; seeded in batches of 100 000), in the main project or `projectId`. */
  seed(count: number, opts?: { projectId?: string }): Promise<string[]>;
  stats(): Promise<SimulatorStats>;
  /** The last `limit` `/v1` calls (the log keeps 10 000). */
  calls(limit?: number): Promise<CallRecord[]>;
  /** Changes faults and/or `rate` / `burst` while running. */
  configure(update: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the simulator in its own process, so its CPU does not distort what the benchmark
 * measures in the workers (and the other way round).
 */
export async function startSimProcess(opts: SimProcessOptions = {}): Promise<SimProcess> {
  const args = ['simulator', '--port', '0', '--json', '--api-key', SIM_KEY];
  if (opts.rate !== undefined) args.push('--rate', String(opts.rate));
  if (opts.burst !== undefined) args.push('--burst', String(opts.burst));
  if (opts.errorRate !== undefined) args.push('--error-rate', String(opts.errorRate));
  if (opts.resetRate !== undefined) args.push('--reset-rate', String(opts.resetRate));
  if (opts.hangRate !== undefined) args.push('--hang-rate', String(opts.hangRate));
  if (opts.latencyMs !== undefined) args.push('--latency-ms', opts.latencyMs.join(','));
  if (opts.releaseDelayMs !== undefined) args.push('--release-delay-ms', String(opts.releaseDelayMs));
  for (const [id, keys] of Object.entries(opts.projects ?? {})) args.push('--project', `${id}=${keys.join(',')}`);
  const child = spawnCli(args);
  const [line] = await child.waitForOutput(/^\{.*\}$/m, 20_000);
  const { url } = JSON.parse(line) as { url: string };
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url,
    child,
    async seed(count, { projectId } = {}) {
      const ids: string[] = [];
      for (let left = count; left > 0; left -= 100_000) {
        const r = await admin<{ ids: string[] }>('POST', '/_sim/sessions', { count: Math.min(left, 100_000), ...(projectId !== undefined ? { projectId } : {}) });
        for (const id of r.ids) ids.push(id);
      }
      return ids;
    },
    stats: () => admin<SimulatorStats>('GET', '/_sim/stats'),
    calls: (limit) => admin<CallRecord[]>('GET', `/_sim/calls${limit !== undefined ? `?limit=${limit}` : ''}`),
    configure: (update) => admin<unknown>('POST', '/_sim/faults', update).then(() => undefined),
    close: () => child.stop(5000),
  };
}
