// The ingress feature: other services XADD close requests to `<prefix>:ingress`; a consumer moves
// them into the close queue. entry.ts reads one entry's shape, parse.ts turns entries into
// requests and rejected records (pure), stream.ts holds the Redis commands and scripts,
// maintenance.ts trims / claims / prunes on their schedules, consumer.ts owns the read loop and
// its lifecycle, bridge.ts wires the real handling step (enqueueCloses) into a consumer.
export { startIngressBridge, createEnqueueHandler } from './bridge.js';
export { createIngressConsumer, type EntryHandler, type HandledGroup, type IngressBridge, type IngressBridgeStats, type IngressConsumerOptions } from './consumer.js';
export { resolveIngressSettings, type IngressBridgeOptions, type IngressSettings, type IngressTuning } from './options.js';
export {
  INGRESS_FIELDS,
  INGRESS_LIMITS,
  INGRESS_READ_LIMITS,
  MAX_ITEM_REJECTIONS,
  readIngressEntry,
  rejectItems,
  rejectOversizedEntry,
  type IngressEntryRead,
  type IngressRejectCode,
  type IngressRejection,
  type OversizedEntry,
  type ParsedIngressEntry,
  type RejectedItem,
} from './entry.js';
export { buildRejectedRecord, parseEntries, parseIngressEntry, rejectInvalid, rejectedRecords, type EntryContext, type EntryRejection, type IngressOrigin, type ParsedEntries } from './parse.js';
export { INGRESS_GROUP, rejectAndAck, type StreamEntry } from './stream.js';
