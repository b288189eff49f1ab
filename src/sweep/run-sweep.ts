import type { BrowserbaseClient } from '../browserbase/index.js';
import { enqueueCloses, type EnqueueTarget } from '../producer/enqueue.js';
import { findOrphans, type OrphanSelection, type SweepParams } from './find-orphans.js';

export interface SweepReport extends OrphanSelection {
  /** True when nothing was enqueued on purpose. */
  dryRun: boolean;
  /** Closes enqueued (absent on a dry run). */
  enqueued?: { accepted: number; duplicates: number; invalid: number; jobIds: string[] };
}

export interface RunSweepOptions {
  client: BrowserbaseClient;
  /** Where closes go; omit together with `dryRun: true`. */
  target?: EnqueueTarget;
  params: SweepParams;
  /** Find and report, enqueue nothing. Default false. */
  dryRun?: boolean;
  /** The account whose key `client` holds: the closes are enqueued for it. Default `default`. */
  account?: string;
  /** `source` recorded in the close jobs. Default `sweep`. */
  source?: string;
  signal?: AbortSignal;
  /** Called after every enqueued chunk with the orphans handled so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * One orphan sweep: list active sessions, select the orphans, enqueue their closes. A session
 * with a pending lease is no orphan (its holder renews it, or the lease closes it): it is left
 * to its lease and counted as a duplicate.
 */
export async function runSweep({ client, target, params, dryRun = false, source = 'sweep', account, signal, onProgress }: RunSweepOptions): Promise<SweepReport> {
  const selection = await findOrphans(client, params, { signal });
  if (dryRun || selection.orphans.length === 0) {
    return { ...selection, dryRun, ...(dryRun ? {} : { enqueued: { accepted: 0, duplicates: 0, invalid: 0, jobIds: [] } }) };
  }
  if (!target) throw new TypeError('runSweep needs `target` unless `dryRun` is true');
  const total = selection.orphans.length;
  const r = await enqueueCloses(target, selection.orphans.map((o) => o.id), { source, leases: 'keep', ...(account !== undefined ? { account } : {}), ...(onProgress ? { onProgress: (p: { processed: number }) => onProgress(p.processed, total) } : {}) });
  return { ...selection, dryRun, enqueued: { accepted: r.accepted, duplicates: r.duplicates, invalid: r.invalidCount, jobIds: r.jobIds } };
}
