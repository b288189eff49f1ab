import { z } from 'zod';
import { DEFAULT_FAULTS, faultsSchema, type Faults } from './faults.js';
import { DEFAULT_CALL_LOG_SIZE } from './call-log.js';
import { SimulatorInputError, toFieldIssues } from './validation.js';

/** Options of {@link startSimulator}; every one optional. */
export interface SimulatorOptions {
  /** TCP port; default 0 (a free port the OS picks). */
  port?: number;
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** Accepted `X-BB-API-Key` values; default `['sim-key']`. */
  apiKeys?: string[];
  /** Project the keys of `apiKeys` belong to; default `sim-project`. */
  projectId?: string;
  /**
   * More projects, each with its own keys: `{"proj-b": ["key-b"]}`. A key sees only its own
   * project's sessions (another project's session answers 404, as Browserbase does), and each key
   * has its own token bucket, so each project is limited on its own. A key belongs to one project.
   */
  projects?: Record<string, string[]>;
  /** Token-bucket refill per second per API key, over all `/v1` requests; 0 or unset = no limit. */
  rate?: number;
  /** Bucket size in requests; default `max(1, rate)`. */
  burst?: number;
  /** The plan's concurrent browsers: Create answers 429 beyond it; default 25. */
  concurrencyLimit?: number;
  /** ms a released session still reads RUNNING before it turns COMPLETED; default 100. */
  releaseDelayMs?: number;
  /** Faults injected into `/v1` requests; default none. */
  faults?: Partial<Faults>;
  /** Keep a call log of `/v1` requests; default true. */
  logRequests?: boolean;
  /** Calls the log keeps (the oldest are dropped); default 10 000. */
  callLogSize?: number;
  /** Also send `retry-after-ms` on 429s (the official SDKs honour it); default false. */
  retryAfterMsHeader?: boolean;
}

/** Options after defaults were applied. */
export interface ResolvedSimulatorOptions {
  port: number;
  host: string;
  apiKeys: string[];
  projectId: string;
  /** Every project with its keys, the main one (`projectId` with `apiKeys`) first. */
  projects: Record<string, string[]>;
  rate: number;
  burst: number;
  concurrencyLimit: number;
  releaseDelayMs: number;
  faults: Faults;
  logRequests: boolean;
  callLogSize: number;
  retryAfterMsHeader: boolean;
}

/** Largest accepted `rate`, requests per second. */
export const MAX_SIM_RATE = 1_000_000;

const int = (min: number, max: number) => {
  const message = `expected an integer from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const num = (min: number, max: number) => {
  const message = `expected a number from ${min} to ${max}`;
  return z.number({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const nonEmpty = z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' });

/** `rate` and `burst` (also accepted by `POST /_sim/faults` and `setRate`). */
export const rateSchema = num(0, MAX_SIM_RATE);
export const burstSchema = num(1, MAX_SIM_RATE);

const optionsSchema = z.strictObject({
  port: int(0, 65535).optional(),
  host: nonEmpty.optional(),
  apiKeys: z.array(nonEmpty, { error: 'expected an array of non-empty strings' }).min(1, { error: 'expected at least one key' }).optional(),
  projectId: nonEmpty.optional(),
  projects: z.record(nonEmpty, z.array(nonEmpty, { error: 'expected an array of non-empty strings' }).min(1, { error: 'expected at least one key' }), { error: 'expected an object of project id to API keys' }).optional(),
  rate: rateSchema.optional(),
  burst: burstSchema.optional(),
  concurrencyLimit: int(0, 1_000_000).optional(),
  releaseDelayMs: int(0, 3_600_000).optional(),
  faults: faultsSchema.optional(),
  logRequests: z.boolean({ error: 'expected a boolean' }).optional(),
  callLogSize: int(0, 1_000_000).optional(),
  retryAfterMsHeader: z.boolean({ error: 'expected a boolean' }).optional(),
});

/**
 * Validates the options and applies the defaults; throws `SimulatorInputError` naming every bad
 * option (fields of `faults` as `faults.errorRate`, ...). API keys never appear in the message.
 */
export function resolveSimulatorOptions(opts: SimulatorOptions = {}): ResolvedSimulatorOptions {
  const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const safe = {
    ...defined,
    ...(defined.apiKeys !== undefined ? { apiKeys: maskKeys(defined.apiKeys) } : {}),
    ...(isObject(defined.projects) ? { projects: Object.fromEntries(Object.entries(defined.projects).map(([id, k]) => [id, maskKeys(k)])) } : {}),
  };
  const checked = optionsSchema.safeParse(defined);
  if (!checked.success) throw new SimulatorInputError('simulator options', toFieldIssues(checked.error, safe));
  const p = checked.data;
  const apiKeys = p.apiKeys ?? ['sim-key'];
  const projectId = p.projectId ?? 'sim-project';
  const projects: Record<string, string[]> = { [projectId]: [...apiKeys] };
  const owner = new Map<string, string>(apiKeys.map((k) => [k, projectId]));
  const clashes: Array<{ field: string; message: string }> = [];
  for (const [id, keys] of Object.entries(p.projects ?? {})) {
    for (const k of keys) {
      const had = owner.get(k);
      if (had !== undefined && had !== id) clashes.push({ field: `projects.${id}`, message: `a key belongs to one project, and one of these keys is also a key of ${had}` });
      owner.set(k, id);
    }
    projects[id] = [...new Set([...(projects[id] ?? []), ...keys])];
  }
  if (clashes.length > 0) throw new SimulatorInputError('simulator options', clashes);
  const rate = p.rate ?? 0;
  const faults = Object.fromEntries(Object.entries(p.faults ?? {}).filter(([, v]) => v !== undefined));
  return {
    port: p.port ?? 0,
    host: p.host ?? '127.0.0.1',
    apiKeys,
    projectId,
    projects,
    rate,
    burst: p.burst ?? Math.max(1, rate),
    concurrencyLimit: p.concurrencyLimit ?? 25,
    releaseDelayMs: p.releaseDelayMs ?? 100,
    faults: { ...DEFAULT_FAULTS, latencyMs: [...DEFAULT_FAULTS.latencyMs], ...faults } as Faults,
    logRequests: p.logRequests ?? true,
    callLogSize: p.callLogSize ?? DEFAULT_CALL_LOG_SIZE,
    retryAfterMsHeader: p.retryAfterMsHeader ?? false,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys replaced by placeholders of the same type, so a validation message cannot echo a key. */
function maskKeys(keys: unknown): unknown {
  return Array.isArray(keys) ? keys.map((k) => (typeof k === 'string' && k.length > 0 ? '[key]' : k)) : keys;
}
