import type { Queue } from 'bullmq';
import type { Redis } from '../shared/redis.js';
import { checkCloseJobs } from '../leases/lease-store.js';
import { CLOSE_JOB_NAME, DEFAULT_ACCOUNT } from '../shared/names.js';
import type { CloseJobData } from '../shared/jobs.js';
import type { Queues } from '../shared/queues.js';
import { noteAccountUsed } from '../shared/account-registry.js';
import { isInvalid, normalizeCloseItem, type CloseInput, type InvalidItem, type NormalizedRequest, type SourcedInput } from './close-request.js';

export interface EnqueueProgress {
  /** Inputs looked at so far. */
  processed: number;
  accepted: number;
  duplicates: number;
  invalid: number;
}

export interface EnqueueOptions {
  /** `projectId` for items that carry none. */
  projectId?: string;
  /** `requestId` for items that carry none. */
  requestId?: string;
  /** The account for items that name none; default `default`. */
  account?: string;
  /** Recorded in job data: `library`, `cli`, `ingress`, `sweep`... Default `library`. */
  source?: string;
  /** Jobs per `addBulk` call. Default 1000. */
  chunkSize?: number;
  /** Called after every chunk. */
  onProgress?: (p: EnqueueProgress) => void;
  /** Keep the job ids of accepted and duplicate items in the report (to wait for them). Default true. */
  collectJobIds?: boolean;
  /** At most this many invalid items are kept in the report (all are counted). Default 1000. */
  maxInvalidReported?: number;
  /**
   * What the report keeps of an invalid input, instead of the input itself (default: the input).
   * For inputs that may be huge (elements of a file), e.g. a bounded preview.
   */
  reportInputAs?: (input: unknown) => unknown;
  /**
   * A session with a pending lease: `close` (default) closes it now, the close request wins and
   * the lease is released; `keep` leaves the lease to its deadline (counted as a duplicate; sweeps
   * do this, so a session its holder keeps renewing is no orphan).
   */
  leases?: 'close' | 'keep';
}

export interface EnqueueReport<O = unknown> {
  /** New close jobs added. */
  accepted: number;
  /** Items whose close was already pending (or finished recently): a no-op. */
  duplicates: number;
  /** Of `accepted`: sessions whose pending lease this request released (their close runs now). */
  leasesReleased: number;
  /** Invalid items with their reason, and their origin when given as a `SourcedInput` (first `maxInvalidReported`). */
  invalid: InvalidItem<O>[];
  /** Number of invalid items in all. */
  invalidCount: number;
  /** Job ids of accepted and duplicate items, in input order (when `collectJobIds`). */
  jobIds: string[];
}

export const DEFAULT_CHUNK_SIZE = 1000;

/** The close queues (one per account) and a connection to the same Redis. */
export interface EnqueueTarget {
  queues: Pick<Queues, 'closeQueueFor' | 'prefix'>;
  redis: Redis;
}

/**
 * Enqueues closes from any (async) iterable with bounded memory: items are validated, grouped in
 * chunks and sent with `addBulk`. Job ids are deterministic, so a duplicate while pending is a
 * no-op and re-sending a chunk after an error is safe (`addBulk` is pipelined, not atomic).
 * Items may be {@link SourcedInput}s: each invalid one is then reported with its origin, so
 * callers report invalid items from this report alone, validated once, here.
 */
export async function enqueueCloses<O = unknown>(
  { queues, redis }: EnqueueTarget,
  inputs: Iterable<CloseInput | SourcedInput<O> | unknown> | AsyncIterable<CloseInput | SourcedInput<O> | unknown>,
  opts: EnqueueOptions = {},
): Promise<EnqueueReport<O>> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 100_000) {
    throw new TypeError(`Expected \`chunkSize\` to be an integer from 1 to 100000, got \`${chunkSize}\``);
  }
  const maxInvalid = opts.maxInvalidReported ?? 1000;
  const collect = opts.collectJobIds ?? true;
  const report: EnqueueReport<O> = { accepted: 0, duplicates: 0, leasesReleased: 0, invalid: [], invalidCount: 0, jobIds: [] };
  const defaults = { projectId: opts.projectId, requestId: opts.requestId, account: opts.account };
  let processed = 0;
  let chunk: NormalizedRequest[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    // One queue per account: a chunk's items go to their accounts' queues.
    const byAccount = new Map<string, NormalizedRequest[]>();
    for (const r of chunk) {
      const list = byAccount.get(r.account);
      if (list) list.push(r);
      else byAccount.set(r.account, [r]);
    }
    for (const [account, items] of byAccount) {
      await noteAccountUsed(redis, queues.prefix, account);
      const { accepted, duplicates, leasesReleased } = await addChunk({ queue: queues.closeQueueFor(account), redis }, items, opts.source ?? 'library', opts.leases ?? 'close');
      report.accepted += accepted;
      report.duplicates += duplicates;
      report.leasesReleased += leasesReleased;
    }
    if (collect) for (const r of chunk) report.jobIds.push(r.jobId);
    chunk = [];
    opts.onProgress?.({ processed, accepted: report.accepted, duplicates: report.duplicates, invalid: report.invalidCount });
  };
  for await (const input of inputs as AsyncIterable<unknown>) {
    processed++;
    const r = normalizeCloseItem<O>(input, defaults);
    if (isInvalid(r)) {
      report.invalidCount++;
      if (report.invalid.length < maxInvalid) report.invalid.push(opts.reportInputAs ? { ...r, input: opts.reportInputAs(r.input) } : r);
      continue;
    }
    chunk.push(r);
    if (chunk.length >= chunkSize) await flush();
  }
  await flush();
  if (chunk.length === 0 && processed > 0 && report.accepted + report.duplicates === 0) {
    opts.onProgress?.({ processed, accepted: 0, duplicates: 0, invalid: report.invalidCount });
  }
  return report;
}

/**
 * Adds one chunk. Items whose job already exists (pending, or finished and still kept) and
 * repeats inside the chunk are duplicates, except a pending lease, which this close request
 * releases (`leases: 'close'`): its job runs now. The rest go out in one `addBulk`.
 */
async function addChunk(
  { queue, redis }: { queue: Queue<CloseJobData>; redis: Redis },
  chunk: NormalizedRequest[],
  source: string,
  leases: 'close' | 'keep',
): Promise<{ accepted: number; duplicates: number; leasesReleased: number }> {
  const seen = new Set<string>();
  const unique: NormalizedRequest[] = [];
  let duplicates = 0;
  for (const r of chunk) {
    if (seen.has(r.jobId)) duplicates++;
    else {
      seen.add(r.jobId);
      unique.push(r);
    }
  }
  // One script checks the whole chunk (and releases pending leases): a pipeline of 1,000 EXISTS took 2-3x as long.
  const found = await checkCloseJobs({ queue, redis }, leases === 'close' ? 'close' : 'check', unique.map((r) => r.jobId));
  const fresh: NormalizedRequest[] = [];
  let leasesReleased = 0;
  unique.forEach((r, i) => {
    if (found[i] === 'absent') fresh.push(r);
    else if (found[i] === 'released') leasesReleased++;
    else duplicates++;
  });
  if (fresh.length > 0) {
    const enqueuedAt = Date.now();
    await queue.addBulk(
      fresh.map((r) => ({
        name: CLOSE_JOB_NAME,
        data: {
          sessionId: r.sessionId,
          enqueuedAt,
          source,
          ...(r.projectId !== undefined ? { projectId: r.projectId } : {}),
          ...(r.requestId !== undefined ? { requestId: r.requestId } : {}),
          ...(r.account !== DEFAULT_ACCOUNT ? { account: r.account } : {}),
        },
        opts: { jobId: r.jobId },
      })),
    );
  }
  return { accepted: fresh.length + leasesReleased, duplicates, leasesReleased };
}
