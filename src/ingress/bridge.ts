import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { BbReaperError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { keys } from '../shared/names.js';
import { createQueues } from '../shared/queues.js';
import type { CloseRequest } from './close-request.js';
import { enqueueCloses } from './enqueue.js';
import { describeThrown, parseIngressEntry, rejectItems, rejectOversizedEntry, type OversizedEntry, type ParsedIngressEntry, type RejectedItem } from './ingress-entry.js';
import {
  INGRESS_GROUP,
  buildRejectedRecord,
  dropConsumerIfIdle,
  ensureIngressGroup,
  idsOfBufferReply,
  isNoGroupError,
  isRedisFault,
  pruneIdleConsumers,
  readEntries,
  rejectAndAck,
  trimAcknowledged,
  type ReadResult,
  type StreamEntry,
} from './ingress-stream.js';

export interface IngressBridgeOptions {
  /**
   * Redis connection for queue writes and stream commands; the caller keeps owning it. The
   * bridge duplicates it once for its blocking reads and disconnects that copy on `close()`.
   */
  connection: Redis;
  /** Key prefix. Default `bb-reaper`. */
  prefix?: string;
  logger: Logger;
  /**
   * This process's name in the consumer group. Default `<hostname>:<pid>:<random>`. A fixed name
   * must never be used by two live processes at once.
   */
  consumerName?: string;
  /** Entries pending this long (ms) on another consumer are claimed: it is presumed dead. Default 30000. */
  claimIdleMs?: number;
  /** Most entries read per round trip (fewer when they are large: one read returns about 4 MiB at most). Default 100. */
  batchSize?: number;
  /** Longest wait (ms) of one read for new entries (shorter when a claim or trim pass is due sooner). Default 2000. */
  blockMs?: number;
  /**
   * An entry claimed or re-read after more than this many deliveries (each consumer holding it
   * stopped before acknowledging it) is rejected as `TOO_MANY_DELIVERIES`. Default 5.
   */
  maxDeliveries?: number;
  /** Consumers holding nothing and idle this long (ms) are removed from the group. Default 3600000 (1 h). */
  consumerExpiryMs?: number;
  /** How often (ms) acknowledged entries are trimmed from the stream. Default 1000. */
  trimIntervalMs?: number;
  /** Longest time (ms) `close()` takes: a batch in progress (or an unreachable Redis) is then left pending, to be claimed. Default 5000. */
  closeTimeoutMs?: number;
  /**
   * Turns one entry's field/value pairs into close requests and rejections; must be pure.
   * Default {@link parseIngressEntry} (which never throws). Should one throw, the entry is
   * handled like any entry whose handling keeps failing: set aside as `UNPROCESSABLE`.
   */
  parseEntry?: (pairs: readonly string[]) => ParsedIngressEntry;
}

/** Counters since the bridge started. */
export interface IngressBridgeStats {
  /** Stream entries handled (acknowledged). */
  entries: number;
  /** New close jobs added. */
  accepted: number;
  /** Sessions whose close was already pending. */
  duplicates: number;
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

interface Batch {
  entries: StreamEntry[];
  /** Delivery counts of the entries. */
  deliveries: Map<string, number>;
  /** Entries too large to be read whole (their values came cut). */
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

const batchOf = (read: ReadResult): Batch => ({ entries: read.entries, deliveries: read.deliveries, oversized: read.oversized, faults: 0, headFaults: 0 });

export interface IngressBridge {
  readonly consumerName: string;
  /** Resolves once the consumer group exists and reading has begun (or on close). */
  readonly ready: Promise<void>;
  stats(): IngressBridgeStats;
  /** Stops reading (a blocked read is cut at once), finishes the batch in hand, and leaves the group. */
  close(): Promise<void>;
}

/** Ids handled per group of entries (enqueued, then acknowledged). */
const GROUP_IDS = 10_000;

/** Rough count of the ids an entry asks for (commas of a `session_ids` array), for grouping only. */
function idsIn(pairs: string[] | null): number {
  if (!pairs) return 0;
  const at = pairs.findIndex((v, i) => i % 2 === 0 && v === 'session_ids');
  if (at < 0) return 1;
  const raw = pairs[at + 1] ?? '';
  let commas = 0;
  for (let i = raw.indexOf(','); i >= 0; i = raw.indexOf(',', i + 1)) commas++;
  return commas + 1;
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new BbReaperError('INVALID_OPTION', `Expected \`${name}\` to be an integer ≥ ${min}, got \`${String(value)}\``);
  return v;
}

/**
 * Moves entries of `<prefix>:ingress` into the close queue, at least once: entries are read with a
 * consumer group and acknowledged only after their jobs are added (job ids are deterministic, so
 * a redelivery is a no-op). Entries of dead consumers are claimed with XAUTOCLAIM; bad entries go
 * to `<prefix>:ingress:rejected`; the stream is trimmed below its oldest unacknowledged entry.
 */
export function startIngressBridge(options: IngressBridgeOptions): IngressBridge {
  const { connection: redis, logger: parentLogger } = options;
  const prefix = options.prefix ?? 'bb-reaper';
  const consumer = options.consumerName ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const claimIdleMs = positiveInt('claimIdleMs', options.claimIdleMs, 30_000);
  const batchSize = positiveInt('batchSize', options.batchSize, 100);
  const blockMs = positiveInt('blockMs', options.blockMs, 2000);
  const maxDeliveries = positiveInt('maxDeliveries', options.maxDeliveries, 5, 2);
  const consumerExpiryMs = positiveInt('consumerExpiryMs', options.consumerExpiryMs, 3_600_000);
  const trimIntervalMs = positiveInt('trimIntervalMs', options.trimIntervalMs, 1000);
  const closeTimeoutMs = positiveInt('closeTimeoutMs', options.closeTimeoutMs, 5000, 0);
  const claimIntervalMs = Math.max(50, Math.min(5000, Math.floor(claimIdleMs / 2)));
  const pruneIntervalMs = Math.max(100, Math.min(60_000, Math.floor(consumerExpiryMs / 2)));

  const { ingress: stream, ingressRejected } = keys(prefix);
  const logger = parentLogger.child({ component: 'ingress', consumer });
  const queues = createQueues({ connection: redis, prefix });
  const target = { queue: queues.closeQueue, redis };
  const reader = redis.duplicate({ connectionName: 'bb-reaper:ingress-read' });
  reader.on('error', () => {});
  const counters: IngressBridgeStats = { entries: 0, accepted: 0, duplicates: 0, rejected: 0, claimed: 0, trimPasses: 0, trimmed: 0, setAside: 0 };
  const parseEntry = options.parseEntry ?? parseIngressEntry;

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

  /** Parses entries into close requests and rejected records. */
  function parseEntries(entries: StreamEntry[], batch: Batch) {
    const requests: CloseRequest[] = [];
    const origin = new Map<CloseRequest, [string, string[]]>();
    const records: string[][] = [];
    for (const [id, pairs] of entries) {
      if (pairs === null) continue; // deleted while pending: nothing left to do but acknowledge
      const delivered = batch.deliveries.get(id) ?? 0;
      if (delivered > maxDeliveries) {
        const reason = `delivered ${delivered} times and every consumer holding it stopped before acknowledging; set aside so it cannot block the stream`;
        records.push(buildRejectedRecord(id, pairs, { code: 'TOO_MANY_DELIVERIES', reason, clipped: batch.oversized.has(id) }));
        continue;
      }
      const size = batch.oversized.get(id);
      const parsed = size ? rejectOversizedEntry(pairs, size) : parseEntry(pairs);
      for (const r of parsed.requests) {
        requests.push(r);
        origin.set(r, [id, pairs]);
      }
      for (const rejection of parsed.rejections) records.push(buildRejectedRecord(id, pairs, rejection));
    }
    return { requests, origin, records };
  }

  /** Enqueues what some entries ask for, then records their rejections and acknowledges them atomically. */
  async function handleGroup(entries: StreamEntry[], batch: Batch): Promise<void> {
    const { requests, origin, records } = parseEntries(entries, batch);
    let accepted = 0;
    let duplicates = 0;
    if (requests.length > 0) {
      const report = await enqueueCloses(target, requests, { source: 'ingress', collectJobIds: false, maxInvalidReported: requests.length });
      ({ accepted, duplicates } = report);
      // Refused by the queue's own check (the parse step checks the same, so rarely if ever): per entry, summarised beyond a few.
      const refused = new Map<string, { pairs: string[]; items: RejectedItem[] }>();
      for (const { input, reason } of report.invalid) {
        const [id, pairs] = origin.get(input as CloseRequest) ?? ['?', []];
        const e = refused.get(id) ?? { pairs, items: [] };
        e.items.push({ input, reason });
        refused.set(id, e);
      }
      for (const [id, { pairs, items }] of refused) {
        const total = requests.filter((r) => origin.get(r)?.[0] === id).length;
        for (const rejection of rejectItems(items, items.length, total)) records.push(buildRejectedRecord(id, pairs, rejection));
      }
    }
    await rejectAndAck(redis, stream, ingressRejected, records, entries.map(([id]) => id));
    counters.entries += entries.length;
    counters.accepted += accepted;
    counters.duplicates += duplicates;
    counters.rejected += records.length;
    logger.info({ entries: entries.length, accepted, duplicates, rejected: records.length }, 'ingress entries enqueued');
    if (records.length > 0) logger.warn({ rejected: records.length, first: records[0]?.[5] }, `rejected ingress input recorded in ${ingressRejected}`);
  }

  /** Records one entry whose handling keeps failing as `UNPROCESSABLE` and acknowledges it. */
  async function setAside(entry: StreamEntry, batch: Batch): Promise<void> {
    const [id, pairs] = entry;
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

  let claimCursor = '0-0';
  let nextClaimAt = 0;
  let nextTrimAt = 0;
  let nextPruneAt = Date.now() + pruneIntervalMs;

  /** Claims entries of dead consumers (returned for handling), trims the stream and prunes idle consumers when due. */
  async function maintain(): Promise<Batch | undefined> {
    const now = Date.now();
    if (now >= nextTrimAt) {
      nextTrimAt = now + trimIntervalMs;
      const removed = await trimAcknowledged(redis, stream);
      counters.trimPasses++;
      counters.trimmed += removed;
      if (removed > 0) logger.debug({ removed }, 'trimmed acknowledged ingress entries');
    }
    if (now >= nextPruneAt) {
      nextPruneAt = now + pruneIntervalMs;
      const removed = await pruneIdleConsumers(redis, stream, consumerExpiryMs, consumer);
      if (removed > 0) logger.info({ removed }, 'removed idle ingress consumers');
    }
    if (now < nextClaimAt) return undefined;
    const claimed = await readEntries(redis, stream, consumer, { kind: 'claim', cursor: claimCursor, minIdleMs: claimIdleMs }, batchSize);
    claimCursor = claimed.cursor;
    if (claimCursor === '0-0') nextClaimAt = now + claimIntervalMs;
    if (claimed.entries.length === 0) return undefined;
    counters.claimed += claimed.entries.length;
    logger.info({ claimed: claimed.entries.length }, 'claimed ingress entries left pending by a stopped consumer');
    return batchOf(claimed);
  }

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

  let ownHistory = true; // entries a previous run under the same name left pending

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
        if (!inHand) inHand = await maintain();
        if (!inHand && !closing) {
          // Block no longer than until the next claim or trim is due, so both keep their schedule.
          const waitMs = Math.max(1, Math.min(blockMs, Math.min(nextClaimAt, nextTrimAt) - Date.now()));
          inHand = await readNext(waitMs);
        }
        if (inHand) await handleBatch(inHand);
        inHand = undefined;
        failures = 0;
      } catch (err) {
        if (closing) break;
        if (isNoGroupError(err)) groupReady = false;
        // A read that failed may have delivered entries it did not return: read our own pending ones first.
        if (!inHand) ownHistory = true;
        failures++;
        let delayMs = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        if (inHand && !isRedisFault(err, [redis])) {
          // Handling failed while Redis answered: count it against the batch, then its first entry.
          inHand.lastFault = err;
          if (inHand.faults < FAULTS_BEFORE_ONE_BY_ONE) inHand.faults++;
          else inHand.headFaults++;
          delayMs = Math.min(1000, 50 * 2 ** (inHand.faults + inHand.headFaults));
        }
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

  const done = run();
  let closed: Promise<void> | undefined;
  return {
    consumerName: consumer,
    ready,
    stats: () => ({ ...counters }),
    close() {
      closed ??= (async () => {
        closing = true;
        wake?.();
        reader.disconnect();
        // Every step is bounded by one deadline: with Redis unreachable, commands would wait for
        // a reconnect forever. Nothing is lost by giving up: unacknowledged entries get claimed.
        const deadline = Date.now() + closeTimeoutMs;
        const within = <T>(p: Promise<T>): Promise<boolean> =>
          Promise.race([
            p.then(() => true, () => true),
            new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, deadline - Date.now())).unref()),
          ]);
        const finished = (await within(done)) && (await within(dropConsumerIfIdle(redis, stream, consumer))) && (await within(queues.close()));
        if (!finished) logger.warn({ closeTimeoutMs }, 'ingress bridge did not stop cleanly in time; entries it held stay pending and another bridge will claim them');
        markReady();
        logger.info(counters, 'ingress bridge stopped');
      })();
      return closed;
    },
  };
}
