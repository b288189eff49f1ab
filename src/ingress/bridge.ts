import type { Redis } from '../shared/redis.js';
import { acquireLeases } from '../leases/lease-store.js';
import type { SourcedInput } from '../producer/close-request.js';
import { enqueueCloses } from '../producer/enqueue.js';
import { noteAccountUsed } from '../shared/account-registry.js';
import { ACCOUNT_NAME_PATTERN, DEFAULT_ACCOUNT, DEFAULT_PREFIX, keys } from '../shared/names.js';
import { createQueues } from '../shared/queues.js';
import { createIngressConsumer, type EntryHandler, type IngressBridge } from './consumer.js';
import { resolveIngressSettings, type IngressBridgeOptions } from './options.js';
import { parseEntries, rejectInvalid, rejectedRecords, type EntryRejection, type IngressOrigin } from './parse.js';
import { rejectAndAck } from './stream.js';

/**
 * The bridge's handling step: enqueues what a group of entries asks for (`enqueueCloses` checks
 * every id, once, and reports the invalid ones with the entry they came from), then records the
 * rejections and acknowledges the entries, all or nothing. Job ids are deterministic, so
 * handling a group again after a failure enqueues nothing twice.
 */
export function createEnqueueHandler({ connection, prefix = DEFAULT_PREFIX }: { connection: Redis; prefix?: string }): EntryHandler {
  const { ingress: stream, ingressRejected } = keys(prefix);
  const queues = createQueues({ connection, prefix });
  const target = { queues, redis: connection };
  return {
    async handle(entries, context) {
      const { requests, rejections } = parseEntries(entries, context);
      const closes = requests.filter((r) => r.origin.lease === undefined);
      // Leases first: a close of the same session in the same group then releases its lease,
      // as it would have, handled one entry after the other.
      const leased = await leaseRequests({ queues, redis: connection }, requests.filter((r) => r.origin.lease !== undefined), rejections);
      let accepted = 0;
      let duplicates = 0;
      if (closes.length > 0) {
        const report = await enqueueCloses<IngressOrigin>(target, closes, { source: 'ingress', collectJobIds: false, maxInvalidReported: closes.length });
        ({ accepted, duplicates } = report);
        for (const r of rejectInvalid(report.invalid)) rejections.push(r);
      }
      const records = rejectedRecords(rejections);
      await rejectAndAck(connection, stream, ingressRejected, records, entries.map(([id]) => id));
      return { accepted, duplicates: duplicates + leased.noops, leased: leased.leased, rejected: records.length, ...(records[0] ? { firstReason: records[0][5] } : {}) };
    },
    close: () => queues.close(),
  };
}

/**
 * Creates or renews the leases entries ask for (`close_after`: that long from now; `close_at`: at
 * that time), in the close queue of each entry's account, one script per account and distinct
 * TTL. Invalid ids become rejections of their entry. Returns
 * how many leases were created or renewed, and the no-ops (the session's close already pending
 * or done, or its lease already fired).
 */
async function leaseRequests(
  { queues, redis }: { queues: ReturnType<typeof createQueues>; redis: Redis },
  requests: SourcedInput<IngressOrigin>[],
  rejections: EntryRejection[],
): Promise<{ leased: number; noops: number }> {
  const now = Date.now();
  const groups = new Map<string, { account: string; ttl: number; items: SourcedInput<IngressOrigin>[] }>();
  for (const r of requests) {
    const lease = r.origin.lease;
    if (lease === undefined) continue;
    const ttl = 'ttlMs' in lease ? lease.ttlMs : lease.atMs - now;
    // A bad account name is reported by acquireLeases' check of the item (in any group).
    const named = (r.input as { account?: unknown } | null)?.account;
    const account = typeof named === 'string' && ACCOUNT_NAME_PATTERN.test(named) ? named : DEFAULT_ACCOUNT;
    const key = `${account}\u0000${ttl}`;
    const group = groups.get(key) ?? { account, ttl, items: [] };
    group.items.push(r);
    groups.set(key, group);
  }
  let leased = 0;
  let noops = 0;
  for (const { account, ttl, items: group } of groups.values()) {
    const { outcomes, invalid } = await acquireLeases<IngressOrigin>({ queue: queues.closeQueueFor(account), redis }, group, ttl, { now, source: 'ingress' });
    if (outcomes.some((o) => o.status === 'created')) await noteAccountUsed(redis, queues.prefix, account);
    for (const o of outcomes) {
      if (o.status === 'created' || o.status === 'renewed') leased++;
      else noops++;
    }
    for (const r of rejectInvalid(invalid)) rejections.push(r);
  }
  return { leased, noops };
}

/**
 * Moves entries of `<prefix>:ingress` into the close queue, at least once: entries are read with a
 * consumer group and acknowledged only after their jobs are added (job ids are deterministic, so
 * a redelivery is a no-op). Entries of dead consumers are claimed with XAUTOCLAIM; bad entries go
 * to `<prefix>:ingress:rejected`; the stream is trimmed below its oldest unacknowledged entry.
 * Bad options throw `INVALID_OPTION` before anything is started.
 */
export function startIngressBridge(options: IngressBridgeOptions): IngressBridge {
  const { connection, logger } = options;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const settings = resolveIngressSettings(options);
  return createIngressConsumer({ connection, prefix, logger, settings, handler: createEnqueueHandler({ connection, prefix }) });
}
