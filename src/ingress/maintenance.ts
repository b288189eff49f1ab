import type { Redis } from '../shared/redis.js';
import type { Logger } from '../shared/logger.js';
import type { IngressSettings } from './options.js';
import { pruneIdleConsumers, readEntries, trimAcknowledged, type ReadResult } from './stream.js';

/** What maintenance has done since it started. */
export interface MaintenanceCounts {
  /** Entries claimed from dead consumers. */
  claimed: number;
  /** Trim passes run. */
  trimPasses: number;
  /** Entries removed by trimming. */
  trimmed: number;
}

/**
 * The ingress group's upkeep, each task on its own schedule: trim acknowledged entries (every
 * `trimIntervalMs`), remove idle consumers (every `pruneIntervalMs`), and claim the entries of
 * dead consumers (every `claimIntervalMs`, and at once again while a scan of the pending list is
 * under way).
 */
export interface IngressMaintenance {
  /** Runs the tasks that are due; returns the entries a claim pass took over, to be handled. */
  runDue(): Promise<ReadResult | undefined>;
  /** Ms until the next claim or trim pass is due: a read for new entries blocks no longer. */
  msUntilDue(): number;
  counts(): MaintenanceCounts;
}

export interface MaintenanceOptions {
  redis: Redis;
  /** The ingress stream key. */
  stream: string;
  settings: IngressSettings;
  logger: Logger;
}

export function createIngressMaintenance({ redis, stream, settings, logger }: MaintenanceOptions): IngressMaintenance {
  const { consumerName, claimIdleMs, batchSize, trimIntervalMs, claimIntervalMs, pruneIntervalMs, consumerExpiryMs } = settings;
  const counts: MaintenanceCounts = { claimed: 0, trimPasses: 0, trimmed: 0 };
  let claimCursor = '0-0';
  let nextClaimAt = 0;
  let nextTrimAt = 0;
  let nextPruneAt = Date.now() + pruneIntervalMs;

  return {
    async runDue() {
      const now = Date.now();
      if (now >= nextTrimAt) {
        nextTrimAt = now + trimIntervalMs;
        const removed = await trimAcknowledged(redis, stream);
        counts.trimPasses++;
        counts.trimmed += removed;
        if (removed > 0) logger.debug({ removed }, 'trimmed acknowledged ingress entries');
      }
      if (now >= nextPruneAt) {
        nextPruneAt = now + pruneIntervalMs;
        const removed = await pruneIdleConsumers(redis, stream, consumerExpiryMs, consumerName);
        if (removed > 0) logger.info({ removed }, 'removed idle ingress consumers');
      }
      if (now < nextClaimAt) return undefined;
      const claimed = await readEntries(redis, stream, consumerName, { kind: 'claim', cursor: claimCursor, minIdleMs: claimIdleMs }, batchSize);
      claimCursor = claimed.cursor;
      if (claimCursor === '0-0') nextClaimAt = now + claimIntervalMs; // the whole pending list was scanned
      if (claimed.entries.length === 0) return undefined;
      counts.claimed += claimed.entries.length;
      logger.info({ claimed: claimed.entries.length }, 'claimed ingress entries left pending by a stopped consumer');
      return claimed;
    },
    msUntilDue: () => Math.min(nextClaimAt, nextTrimAt) - Date.now(),
    counts: () => ({ ...counts }),
  };
}
