import { createHash } from 'node:crypto';
import type { Redis } from '../shared/redis.js';
import { BbReaperError } from '../shared/errors.js';
import { CLOSE_OUTCOMES, type FinalOutcome, type LeaseEnd } from '../shared/jobs.js';
import { DEFAULT_PREFIX, keys } from '../shared/names.js';

/** Final outcomes written to `<prefix>:results`: every close outcome (`CLOSE_OUTCOMES`, the one list). */
export const RESULT_OUTCOMES = CLOSE_OUTCOMES;
export type ResultOutcome = FinalOutcome;

/** One final outcome, as the worker reports it. */
export interface ResultEntry {
  /** The close job's id (`close-<urlencoded session id>`). */
  jobId: string;
  /** The job's creation time (`job.timestamp`, ms epoch); with `jobId` it names one run of one job. */
  jobTimestamp: number;
  sessionId: string;
  /** The caller's correlation id, when the close request carried one. */
  requestId?: string;
  outcome: ResultOutcome;
  /** The session's status from the API, e.g. `COMPLETED`. */
  status?: string;
  /** HTTP status of the last answer. */
  httpStatus?: number;
  /** Error code of the final failure (`REJECTED`, `TRANSIENT`, ...), for `dead_lettered`. */
  errorCode?: string;
  /** Attempts made, 1-based. */
  attempts: number;
  /** ms epoch. */
  finishedAt: number;
  /** True for the close of a lease (its job was created by a lease). */
  lease?: boolean;
  /** How that lease ended: `fired` at its deadline, `released` by its holder, `superseded` by a close request. */
  leaseEnd?: LeaseEnd;
  /**
   * Browser minutes the close saved at most (from the close to the session's `expiresAt`, for a
   * session still running): an upper bound, the session might have ended sooner anyway.
   */
  minutesSaved?: number;
  /** The account the close was for (`default` when it named none). Absent in entries written before accounts. */
  account?: string;
}

/** One entry read back from `<prefix>:results`. */
export interface ResultRecord extends Omit<ResultEntry, 'jobTimestamp'> {
  /** The stream entry id (`<ms>-<seq>`). */
  id: string;
}

export interface ResultsWriterOptions {
  redis: Redis;
  /** Key prefix. Default `bb-reaper`. */
  prefix?: string;
  /** Approximate cap of the stream, in entries (XADD MAXLEN ~). Default 100000. */
  maxLen?: number;
  /** How long (seconds) a written (jobId, jobTimestamp) is remembered so a re-run is not written twice. Default 3600. */
  dedupeTtlSeconds?: number;
}

export interface ResultsWriter {
  /**
   * Appends one outcome, unless this run of this job was already written. Returns the entry id,
   * or null for a repeat. Appends made while a write is under way go together in the next one
   * (one script call for up to 200 entries), so a busy worker pays one round trip per batch.
   */
  append(entry: ResultEntry): Promise<string | null>;
}

export const DEFAULT_RESULTS_MAX_LEN = 100_000;
export const DEFAULT_RESULTS_DEDUPE_TTL_SECONDS = 3600;

/**
 * For each entry of a batch, SET NX guard + capped XADD, atomically per entry: a job re-run after
 * a crash appears once. KEYS: the stream, then one guard key per entry; ARGV: the guard TTL, the
 * cap, then per entry its field count and fields. Returns the new entry ids (nil for a repeat).
 */
const APPEND_SCRIPT = `
local ttl, maxLen, out, a = ARGV[1], ARGV[2], {}, 3
for i = 2, #KEYS do
  local nf = tonumber(ARGV[a])
  a = a + 1
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ttl) then
    local args = { KEYS[1], 'MAXLEN', '~', maxLen, '*' }
    for j = 0, nf - 1 do args[#args + 1] = ARGV[a + j] end
    out[#out + 1] = redis.call('XADD', unpack(args))
  else
    out[#out + 1] = false
  end
  a = a + nf
end
return out
`;
const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');
/** Most entries one script call writes. */
const APPEND_BATCH = 200;

/** The key that remembers one written (jobId, jobTimestamp). */
export function resultDedupeKey(prefix: string, jobId: string, jobTimestamp: number): string {
  return `${keys(prefix).results}:seen:${jobId}:${jobTimestamp}`;
}

/**
 * The stream fields of one outcome (snake_case, all strings; optional ones only when known):
 * `session_id`, `request_id`, `job_id`, `outcome`, `status`, `http_status`, `error_code`,
 * `attempts`, `finished_at`, `lease` (`true`), `lease_end`, `minutes_saved` (2 decimals).
 */
export function toResultFields(e: ResultEntry): string[] {
  const out = ['session_id', e.sessionId];
  if (e.requestId !== undefined) out.push('request_id', e.requestId);
  out.push('job_id', e.jobId, 'outcome', e.outcome);
  if (e.status !== undefined) out.push('status', e.status);
  if (e.httpStatus !== undefined) out.push('http_status', String(e.httpStatus));
  if (e.errorCode !== undefined) out.push('error_code', e.errorCode);
  out.push('attempts', String(e.attempts), 'finished_at', String(e.finishedAt));
  if (e.lease) out.push('lease', 'true');
  if (e.leaseEnd !== undefined) out.push('lease_end', e.leaseEnd);
  if (e.minutesSaved !== undefined && Number.isFinite(e.minutesSaved)) out.push('minutes_saved', e.minutesSaved.toFixed(2));
  if (e.account !== undefined) out.push('account', e.account);
  return out;
}

function checkEntry(e: ResultEntry): void {
  const bad = (field: string, value: unknown, expected: string) =>
    new BbReaperError('INVALID_RESULT', `Expected result \`${field}\` to be ${expected}, got \`${String(value)}\``);
  if (!RESULT_OUTCOMES.includes(e.outcome)) throw bad('outcome', e.outcome, `one of ${RESULT_OUTCOMES.join(', ')}`);
  if (typeof e.jobId !== 'string' || e.jobId.length === 0) throw bad('jobId', e.jobId, 'a non-empty string');
  if (!Number.isFinite(e.jobTimestamp)) throw bad('jobTimestamp', e.jobTimestamp, 'a number (ms epoch)');
}

/** Writes final outcomes to `<prefix>:results`, each (jobId, jobTimestamp) once. */
export function createResultsWriter({ redis, prefix = DEFAULT_PREFIX, maxLen = DEFAULT_RESULTS_MAX_LEN, dedupeTtlSeconds = DEFAULT_RESULTS_DEDUPE_TTL_SECONDS }: ResultsWriterOptions): ResultsWriter {
  for (const [name, v] of [['maxLen', maxLen], ['dedupeTtlSeconds', dedupeTtlSeconds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new BbReaperError('INVALID_OPTION', `Expected \`${name}\` to be an integer ≥ 1, got \`${String(v)}\``);
  }
  const stream = keys(prefix).results;
  interface Pending {
    guard: string;
    fields: string[];
    resolve: (id: string | null) => void;
    reject: (err: unknown) => void;
  }
  let queue: Pending[] = [];
  let writing = false;
  let scheduled = false;

  async function write(batch: Pending[]): Promise<unknown[]> {
    const args = [stream, ...batch.map((p) => p.guard), String(dedupeTtlSeconds), String(maxLen)];
    for (const p of batch) args.push(String(p.fields.length), ...p.fields);
    try {
      return (await redis.evalsha(APPEND_SHA, batch.length + 1, ...args)) as unknown[];
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(APPEND_SCRIPT, batch.length + 1, ...args)) as unknown[];
    }
  }

  function flushSoon(): void {
    if (writing || scheduled || queue.length === 0) return;
    scheduled = true;
    // After this turn of the event loop: the appends made in it go in one call.
    setImmediate(() => {
      scheduled = false;
      void flush();
    });
  }

  async function flush(): Promise<void> {
    if (writing || queue.length === 0) return;
    writing = true;
    const batch = queue.slice(0, APPEND_BATCH);
    queue = queue.slice(APPEND_BATCH);
    try {
      const ids = await write(batch);
      batch.forEach((p, i) => p.resolve(typeof ids[i] === 'string' ? (ids[i] as string) : null));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      writing = false;
      flushSoon();
    }
  }

  return {
    append(entry) {
      try {
        checkEntry(entry);
      } catch (err) {
        return Promise.reject(err);
      }
      return new Promise<string | null>((resolve, reject) => {
        queue.push({ guard: resultDedupeKey(prefix, entry.jobId, entry.jobTimestamp), fields: toResultFields(entry), resolve, reject });
        flushSoon();
      });
    },
  };
}

const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

/** Turns one stream entry of `<prefix>:results` back into a typed record. */
export function parseResultFields(id: string, pairs: readonly string[]): ResultRecord {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) f.set(pairs[i] as string, pairs[i + 1] as string);
  const optional = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    id,
    jobId: f.get('job_id') ?? '',
    sessionId: f.get('session_id') ?? '',
    ...optional('requestId', f.get('request_id')),
    outcome: (f.get('outcome') ?? '') as ResultOutcome,
    ...optional('status', f.get('status')),
    ...optional('httpStatus', num(f.get('http_status'))),
    ...optional('errorCode', f.get('error_code')),
    attempts: num(f.get('attempts')) ?? 0,
    finishedAt: num(f.get('finished_at')) ?? 0,
    ...optional('lease', f.get('lease') === 'true' ? true : undefined),
    ...optional('leaseEnd', f.get('lease_end') as LeaseEnd | undefined),
    ...optional('minutesSaved', num(f.get('minutes_saved'))),
    ...optional('account', f.get('account')),
  };
}

export interface ReadResultsOptions {
  redis: Redis;
  /** Key prefix. Default `bb-reaper`. */
  prefix?: string;
  /** First entry id (inclusive; `(id` for exclusive). Default `-` (the oldest kept). */
  start?: string;
  /** Last entry id (inclusive). Default `+`. */
  end?: string;
  /** Most entries returned. Default 1000. */
  count?: number;
}

/** Reads kept outcomes from `<prefix>:results`, oldest first. */
export async function readResults({ redis, prefix = DEFAULT_PREFIX, start = '-', end = '+', count = 1000 }: ReadResultsOptions): Promise<ResultRecord[]> {
  const rows = await redis.xrange(keys(prefix).results, start, end, 'COUNT', count);
  return rows.map(([id, pairs]) => parseResultFields(id, pairs));
}
