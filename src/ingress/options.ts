import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from '../shared/redis.js';
import { BbReaperError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** How the ingress consumer reads, claims, trims and stops: every tunable, each with its default. */
export interface IngressTuning {
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
   * stopped before acknowledging it) is rejected as `TOO_MANY_DELIVERIES`. Default 5 (at least 2).
   */
  maxDeliveries?: number;
  /** Consumers holding nothing and idle this long (ms) are removed from the group. Default 3600000 (1 h). */
  consumerExpiryMs?: number;
  /** How often (ms) acknowledged entries are trimmed from the stream. Default 1000. */
  trimIntervalMs?: number;
  /** Longest time (ms) `close()` takes: a batch in progress (or an unreachable Redis) is then left pending, to be claimed. Default 5000. */
  closeTimeoutMs?: number;
}

export interface IngressBridgeOptions extends IngressTuning {
  /**
   * Redis connection for queue writes and stream commands; the caller keeps owning it. The
   * bridge duplicates it once for its blocking reads and disconnects that copy on `close()`.
   */
  connection: Redis;
  /** Key prefix. Default `bb-reaper`. */
  prefix?: string;
  logger: Logger;
}

/** {@link IngressTuning} checked, with every default applied, and the schedules derived from it. */
export interface IngressSettings extends Required<IngressTuning> {
  /** How often (ms) entries of dead consumers are looked for: half of `claimIdleMs`, from 50 ms to 5 s. */
  claimIntervalMs: number;
  /** How often (ms) idle consumers are looked for: half of `consumerExpiryMs`, from 100 ms to 1 min. */
  pruneIntervalMs: number;
}

function integer(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new BbReaperError('INVALID_OPTION', `Expected \`${name}\` to be an integer ≥ ${min}, got \`${String(value)}\``);
  return v;
}

/**
 * Checks the tuning of an ingress consumer and applies the defaults: the one place they are
 * validated. Throws `INVALID_OPTION` naming the option and the value.
 */
export function resolveIngressSettings(tuning: IngressTuning = {}): IngressSettings {
  const claimIdleMs = integer('claimIdleMs', tuning.claimIdleMs, 30_000);
  const batchSize = integer('batchSize', tuning.batchSize, 100);
  const blockMs = integer('blockMs', tuning.blockMs, 2000);
  const maxDeliveries = integer('maxDeliveries', tuning.maxDeliveries, 5, 2);
  const consumerExpiryMs = integer('consumerExpiryMs', tuning.consumerExpiryMs, 3_600_000);
  const trimIntervalMs = integer('trimIntervalMs', tuning.trimIntervalMs, 1000);
  const closeTimeoutMs = integer('closeTimeoutMs', tuning.closeTimeoutMs, 5000, 0);
  return {
    consumerName: tuning.consumerName ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    claimIdleMs,
    batchSize,
    blockMs,
    maxDeliveries,
    consumerExpiryMs,
    trimIntervalMs,
    closeTimeoutMs,
    claimIntervalMs: Math.max(50, Math.min(5000, Math.floor(claimIdleMs / 2))),
    pruneIntervalMs: Math.max(100, Math.min(60_000, Math.floor(consumerExpiryMs / 2))),
  };
}
