import { duplicateRedis, type Redis } from '../shared/redis.js';
import { backoffCeilingMs } from '../shared/backoff.js';
import type { Logger } from '../shared/logger.js';
import { keys } from '../shared/names.js';
import { settlesWithin } from '../shared/time-limit.js';
import { INGRESS_FIELDS, describeThrown, type OversizedEntry } from './entry.js';
import { createIngressMaintenance } from './maintenance.js';
import type { IngressSettings } from './options.js';
import { buildRejectedRecord, type EntryContext } from './parse.js';
import { INGRESS_GROUP, dropConsumerIfIdle, ensureIngressGroup, idsOfBufferReply, isNoGroupError, isRedisFault, readEntries, rejectAndAck, type ReadResult, type StreamEntry } from './stream.js';

/** Counters since the bridge started. */
export interface IngressBridgeStats {
  /** Stream entries handled (acknowledged). */
  entries: number;
  /** New close jobs added. */
  accepted: number;
  /** Sessions whose close was already pending. */
  duplicates: number;
  /** Leases created or renewed (entries with `close_after` / `close_at`). */
  leased: number;
  /** Records written to `<prefix>:ingress:rejected`. */
  rejected: number;
  /** Entries claimed from dead consumers. */
  claimed: number;
  /** Trim passes run. */
  trimPasses: number;
  /** Entries removed by trimming. */
  trimmed: number;
  /** Entries set aside as `UNPROCESSABLE` because handling them kept failing (also counted in `entries` and `rejected`). */
  setAside: number;
}

/** What handling one group of entries did. */
export interface HandledGroup {
  /** New close jobs added. */
  accepted: number;
  /** Sessions whose close was already pending. */
  duplicates: number;
  /** Leases created or renewed. */
  leased?: number;
  /** Records written to `<prefix>:ingress:rejected`. */
  rejected: number;
  /** The reason of the first of them (for the log). */
  firstReason?: string;
}

/**
 * The consumer's handling step (the bridge's: enqueue, then record rejections and acknowledge).
 * `handle` must acknowledge every entry it is given, together with their rejected records; when
 * it throws, the entries stay pending and the consumer retries them (see {@link createIngressConsumer}).
 */
export interface EntryHandler {
  handle(entries: readonly StreamEntry[], context: EntryContext): Promise<HandledGroup>;
  /** Releases what the step holds; called once by the consumer's `close()`, within its deadline. */
  close(): Promise<void>;
}

export interface IngressConsumerOptions {
  /** Connection for stream commands (the caller keeps owning it); duplicated once for the blocking reads. */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** From `resolveIngressSettings`. */
  settings: IngressSettings;
  handler: EntryHandler;
}

/** A running ingress consumer (what `startIngressBridge` returns). */
export interface IngressBridge {
  readonly consumerName: string;
  /** Resolves once the consumer group exists and reading has begun (or on close). */
  readonly ready: Promise<void>;
  stats(): IngressBridgeStats;
  /** Stops reading (a blocked read is cut at once), finishes the batch in hand, and leaves the group. */
  close(): Promise<void>;
}

/** A batch read but not yet acknowledged, with what went wrong handling it. */
interface Batch {
  entries: StreamEntry[];
  deliveries: Map<string, number>;
  oversized: Map<string, OversizedEntry>;
  /** Failures in a row of this batch that were not Redis's (see isRedisFault). */
  faults: number;
  /** Failures in a row of its first entry handled on its own (after FAULTS_BEFORE_ONE_BY_ONE). */
  headFaults: number;
  /** The last such failure. */
  lastFault?: unknown;
}

/** A batch that failed this many times in a row (not because of Redis) is handled one entry at a time. */
const FAULTS_BEFORE_ONE_BY_ONE = 3;
/** An entry that failed this many times in a row on its own (not because of Redis) is set aside. */
const FAULTS_BEFORE_SET_ASIDE = 3;
/** Ids handled per group of entries (enqueued, then acknowledged). */
const GROUP_IDS = 10_000;

const batchOf = (read: ReadResult): Batch => ({ entries: read.entries, deliveries: read.deliveries, oversized: read.oversized, faults: 0, headFaults: 0 });

/** Rough count of the ids an entry asks for (commas of a `session_ids` array), for grouping only. */
function idsIn(pairs: string[] | null): number {
  if (!pairs) return 0;
  const at = pairs.findIndex((v, i) => i % 2 === 0 && v === INGRESS_FIELDS.sessionIds);
  if (at < 0) return 1;
  const raw = pairs[at + 1] ?? '';
  let commas = 0;
  for (let i = raw.indexOf(','); i >= 0; i = raw.indexOf(',', i + 1)) commas++;
  return commas + 1;
}

/**
 * Reads `<prefix>:ingress` in the consumer group and hands entries to `handler`, at least once:
 * its own pending entries first, then new ones, and those of dead consumers (claimed by
 * maintenance, which also trims the stream and prunes idle consumers). A failed step is retried
 * with backoff; a batch whose handling keeps failing while Redis answers is handled one entry at
 * a time, and an entry that keeps failing alone is set aside as `UNPROCESSABLE`. `close()` stops
 * within `closeTimeoutMs`, whatever Redis does.
 */
export function createIngressConsumer({ connection: redis, prefix, logger: parentLogger, settings, handler }: IngressConsumerOptions): IngressBridge {
  const { consumerName: consumer, batchSize, blockMs, maxDeliveries, closeTimeoutMs } = settings;
  const { ingress: stream, ingressRejected } = keys(prefix);
  const logger = parentLogger.child({ component: 'ingress', consumer });
  const maintenance = createIngressMaintenance({ redis, stream, settings, logger });
  const reader = duplicateRedis(redis, 'bb-reaper:ingress-read');
  reader.on('error', () => {});
  const counters = { entries: 0, accepted: 0, duplicates: 0, leased: 0, rejected: 0, setAside: 0 };

  let closing = false;
  let wake: (() => void) | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function handleGroup(entries: StreamEntry[], batch: Batch): Promise<void> {
    const done = await handler.handle(entries, { deliveries: batch.deliveries, oversized: batch.oversized, maxDeliveries });
    counters.entries += entries.length;
    counters.accepted += done.accepted;
    counters.duplicates += done.duplicates;
    counters.leased += done.leased ?? 0;
    counters.rejected += done.rejected;
    logger.info({ entries: entries.length, accepted: done.accepted, duplicates: done.duplicates, leased: done.leased ?? 0, rejected: done.rejected }, 'ingress entries enqueued');
    if (done.rejected > 0) logger.warn({ rejected: done.rejected, first: done.firstReason }, `rejected ingress input recorded in ${ingressRejected}`);
  }

  /** Records one entry whose handling keeps failing as `UNPROCESSABLE` and acknowledges it. */
  async function setAside([id, pairs]: StreamEntry, batch: Batch): Promise<void> {
    const why = describeThrown(batch.lastFault);
    const reason = `handling this entry on its own failed ${batch.headFaults} times in a row while Redis answered (last: ${why}); set aside so it cannot block the stream`;
    const records = pairs === null ? [] : [buildRejectedRecord(id, pairs, { code: 'UNPROCESSABLE', reason, clipped: batch.oversized.has(id) })];
    await rejectAndAck(redis, stream, ingressRejected, records, [id]);
    counters.entries++;
    counters.rejected += records.length;
    counters.setAside++;
    logger.error({ entryId: id, reason: why }, `ingress entry set aside as UNPROCESSABLE in ${ingressRejected}: handling it kept failing`);
  }

  /**
   * Handles a batch in groups of about `GROUP_IDS` ids (batches of big `session_ids` arrays stay
   * bounded in memory and are acknowledged as they go). Acknowledged entries leave `batch`, so a
   * retry after a failure redoes only the rest. A batch that keeps failing (not because of Redis)
   * is handled one entry at a time, and the entry that keeps failing on its own is set aside.
   */
  async function handleBatch(batch: Batch): Promise<void> {
    while (batch.entries.length > 0) {
      if (batch.faults >= FAULTS_BEFORE_ONE_BY_ONE) {
        const head = batch.entries[0]!;
        if (batch.headFaults >= FAULTS_BEFORE_SET_ASIDE) await setAside(head, batch);
        else await handleGroup([head], batch);
        batch.entries.shift();
        batch.headFaults = 0;
        continue;
      }
      let n = 0;
      let ids = 0;
      while (n < batch.entries.length && (n === 0 || ids < GROUP_IDS)) ids += idsIn(batch.entries[n++]![1]);
      await handleGroup(batch.entries.slice(0, n), batch);
      batch.entries.splice(0, n);
    }
  }

  let ownHistory = true; // entries a previous run under the same name left pending

  /**
   * Reads this consumer's own pending entries first (left by a previous run under the same name,
   * or by a read that failed; each re-read counts as a delivery), then new ones; when there are
   * none, waits for one.
   */
  async function readNext(waitMs: number): Promise<Batch | undefined> {
    if (ownHistory) {
      const mine = await readEntries(redis, stream, consumer, { kind: 'history' }, batchSize);
      if (mine.entries.length > 0) return batchOf(mine);
      ownHistory = false;
    }
    const fresh = await readEntries(redis, stream, consumer, { kind: 'new' }, batchSize);
    if (fresh.entries.length > 0) return batchOf(fresh);
    // The wait takes one entry (COUNT 1) and drops its values unread; the bounded read fetches it again.
    const reply = await reader.callBuffer('XREADGROUP', 'GROUP', INGRESS_GROUP, consumer, 'COUNT', '1', 'BLOCK', String(waitMs), 'STREAMS', stream, '>');
    const delivered = idsOfBufferReply(reply);
    if (delivered.length === 0) return undefined;
    return batchOf(await readEntries(redis, stream, consumer, { kind: 'new', delivered }, batchSize));
  }

  /** How long to wait after a failed step (the same delays as ever: doubling, capped). */
  function retryDelayMs(err: unknown, failures: number, inHand: Batch | undefined): number {
    if (!inHand || isRedisFault(err, [redis])) return backoffCeilingMs(failures + 1, 100, 5000);
    // Handling failed while Redis answered: count it against the batch, then its first entry.
    inHand.lastFault = err;
    if (inHand.faults < FAULTS_BEFORE_ONE_BY_ONE) inHand.faults++;
    else inHand.headFaults++;
    return backoffCeilingMs(inHand.faults + inHand.headFaults + 1, 50, 1000);
  }

  async function run(): Promise<void> {
    let groupReady = false;
    // A batch read but not yet acknowledged. When handling fails it is retried from memory (a
    // re-read would count as another delivery); if this process dies, another bridge claims it.
    let inHand: Batch | undefined;
    let failures = 0;
    while (!closing) {
      try {
        if (!groupReady) {
          await ensureIngressGroup(redis, stream);
          groupReady = true;
          logger.info({ stream, group: INGRESS_GROUP }, 'ingress bridge reading');
          markReady();
        }
        // Own pending entries first: maintenance's claim pass would take them as a dead consumer's.
        if (!inHand && !ownHistory) {
          const claimed = await maintenance.runDue();
          if (claimed) inHand = batchOf(claimed);
        }
        // Block no longer than until the next claim or trim is due, so both keep their schedule.
        if (!inHand && !closing) inHand = await readNext(Math.max(1, Math.min(blockMs, maintenance.msUntilDue())));
        if (inHand) await handleBatch(inHand);
        inHand = undefined;
        failures = 0;
      } catch (err) {
        if (closing) break;
        if (isNoGroupError(err)) groupReady = false;
        // A read that failed may have delivered entries it did not return: read our own pending ones first.
        if (!inHand) ownHistory = true;
        failures++;
        const delayMs = retryDelayMs(err, failures, inHand);
        const context = { delayMs, entriesInHand: inHand?.entries.length ?? 0, faults: inHand ? inHand.faults + inHand.headFaults : 0 };
        try {
          logger.warn({ err, ...context }, 'ingress bridge step failed; retrying');
        } catch {
          logger.warn({ err: describeThrown(err), ...context }, 'ingress bridge step failed; retrying'); // an error pino cannot serialise
        }
        await pause(delayMs);
      }
    }
  }

  const stats = (): IngressBridgeStats => {
    const m = maintenance.counts();
    const c = counters;
    return { entries: c.entries, accepted: c.accepted, duplicates: c.duplicates, leased: c.leased, rejected: c.rejected, claimed: m.claimed, trimPasses: m.trimPasses, trimmed: m.trimmed, setAside: c.setAside };
  };

  const done = run();
  let closed: Promise<void> | undefined;
  return {
    consumerName: consumer,
    ready,
    stats,
    close() {
      closed ??= (async () => {
        closing = true;
        wake?.();
        reader.disconnect();
        // Every step is bounded by one deadline: with Redis unreachable, commands would wait for
        // a reconnect forever. Nothing is lost by giving up: unacknowledged entries get claimed.
        const deadline = Date.now() + closeTimeoutMs;
        const within = (step: () => Promise<unknown>) => settlesWithin(step(), deadline - Date.now());
        const finished = (await within(() => done)) && (await within(() => dropConsumerIfIdle(redis, stream, consumer))) && (await within(() => handler.close()));
        if (!finished) logger.warn({ closeTimeoutMs }, 'ingress bridge did not stop cleanly in time; entries it held stay pending and another bridge will claim them');
        markReady();
        logger.info(stats(), 'ingress bridge stopped');
      })();
      return closed;
    },
  };
}
