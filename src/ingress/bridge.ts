import type { Redis } from '../shared/redis.js';
import { enqueueCloses } from '../producer/enqueue.js';
import { DEFAULT_PREFIX, keys } from '../shared/names.js';
import { createQueues } from '../shared/queues.js';
import { createIngressConsumer, type EntryHandler, type IngressBridge } from './consumer.js';
import { resolveIngressSettings, type IngressBridgeOptions } from './options.js';
import { parseEntries, rejectInvalid, rejectedRecords, type IngressOrigin } from './parse.js';
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
      let accepted = 0;
      let duplicates = 0;
      if (requests.length > 0) {
        const report = await enqueueCloses<IngressOrigin>(target, requests, { source: 'ingress', collectJobIds: false, maxInvalidReported: requests.length });
        ({ accepted, duplicates } = report);
        for (const r of rejectInvalid(report.invalid)) rejections.push(r);
      }
      const records = rejectedRecords(rejections);
      await rejectAndAck(connection, stream, ingressRejected, records, entries.map(([id]) => id));
      return { accepted, duplicates, rejected: records.length, ...(records[0] ? { firstReason: records[0][5] } : {}) };
    },
    close: () => queues.close(),
  };
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
