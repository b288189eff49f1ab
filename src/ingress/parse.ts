import { isInvalid, normalizeCloseItem, SourcedInput, type CloseRequest, type InvalidItem } from '../producer/close-request.js';
import { previewValue } from '../shared/printable.js';
import {
  INGRESS_FIELDS,
  MAX_ITEM_REJECTIONS,
  elementTypeProblem,
  readIngressEntry,
  rejectItems,
  rejectOversizedEntry,
  type IngressEntryRead,
  type IngressLease,
  type IngressRejection,
  type OversizedEntry,
  type ParsedIngressEntry,
  type RejectedItem,
} from './entry.js';
import type { StreamEntry } from './stream.js';

// The pure step of the bridge: entries -> {close requests with their origin, rejections}; then
// the ids enqueueCloses found invalid -> rejections; then rejections -> rejected records.

/** Longest value copied into a rejected record's `fields` / `input`, in characters. */
export const REJECTED_VALUE_MAX_LENGTH = 8192;
/** Longest `input` of one element in a summarised record's `invalid_items`, in characters. */
export const REJECTED_ITEM_MAX_LENGTH = 1024;

/** One entry of a group being handled. */
export interface EntryRef {
  id: string;
  pairs: readonly string[];
  /** Position in its group (rejected records keep the entries' order). */
  position: number;
  /** Ids the entry asks for (elements of `session_ids`, or 1). */
  elements: number;
}

/** Where a close request of the ingress stream came from: the `origin` of its {@link SourcedInput}. */
export interface IngressOrigin {
  entry: EntryRef;
  /** Position in `session_ids`; absent for `session_id`. */
  index?: number;
  /** The id as the entry gives it. */
  value: unknown;
  /** Set when the entry asks for a lease (`close_after` / `close_at`) instead of a close now. */
  lease?: IngressLease;
}

/** A rejection of (part of) one entry. */
export interface EntryRejection {
  entry: EntryRef;
  rejection: IngressRejection;
}

/** What a read tells of its entries. */
export interface EntryContext {
  /** Delivery count of each entry. */
  deliveries: ReadonlyMap<string, number>;
  /** Entries too large to be read whole (their values came cut). */
  oversized: ReadonlyMap<string, OversizedEntry>;
  /** An entry delivered more often than this is rejected as `TOO_MANY_DELIVERIES`. */
  maxDeliveries: number;
}

export interface ParsedEntries {
  /** Close requests for `enqueueCloses`, each with its origin (elements that are not strings come already invalid). */
  requests: SourcedInput<IngressOrigin>[];
  /** Entries (or parts) rejected for their shape, size or deliveries. */
  rejections: EntryRejection[];
}

/** Adds the close requests of one entry read, or its rejection. */
function collect(entry: EntryRef, read: IngressEntryRead, out: ParsedEntries): void {
  if (read.kind === 'rejected') {
    out.rejections.push({ entry, rejection: read.rejection });
  } else if (read.kind === 'single') {
    out.requests.push(new SourcedInput({ sessionId: read.sessionId, ...read.extra }, { entry, value: read.sessionId, ...(read.lease ? { lease: read.lease } : {}) }));
  } else {
    entry.elements = read.elements.length;
    read.elements.forEach((value, index) => {
      const origin = { entry, index, value, ...(read.lease ? { lease: read.lease } : {}) };
      const problem = elementTypeProblem(value);
      out.requests.push(problem === undefined ? new SourcedInput({ sessionId: value as string, ...read.extra }, origin) : new SourcedInput(value, origin, problem));
    });
  }
}

/**
 * Turns entries into close requests and rejections. Pure. Entries deleted while pending (`null`)
 * ask for nothing; an entry delivered too often, or too large to be read whole, is rejected
 * without being read.
 */
export function parseEntries(entries: readonly StreamEntry[], context: EntryContext): ParsedEntries {
  const out: ParsedEntries = { requests: [], rejections: [] };
  entries.forEach(([id, pairs], position) => {
    if (pairs === null) return; // deleted while pending: nothing left to do but acknowledge
    const entry: EntryRef = { id, pairs, position, elements: 1 };
    const delivered = context.deliveries.get(id) ?? 0;
    const clipped = context.oversized.has(id);
    if (delivered > context.maxDeliveries) {
      const reason = `delivered ${delivered} times and every consumer holding it stopped before acknowledging; set aside so it cannot block the stream`;
      out.rejections.push({ entry, rejection: { code: 'TOO_MANY_DELIVERIES', reason, clipped } });
      return;
    }
    const size = context.oversized.get(id);
    if (size) {
      for (const rejection of rejectOversizedEntry(pairs, size).rejections) out.rejections.push({ entry, rejection });
      return;
    }
    collect(entry, readIngressEntry(pairs), out);
  });
  return out;
}

/**
 * The rejections of the requests `enqueueCloses` found invalid (its report's `invalid`, origins
 * included): an invalid `session_id` rejects its entry; invalid elements of `session_ids` are
 * rejected one by one, or summarised beyond {@link MAX_ITEM_REJECTIONS} per entry.
 */
export function rejectInvalid(invalid: readonly InvalidItem<IngressOrigin>[]): EntryRejection[] {
  const out: EntryRejection[] = [];
  const perEntry = new Map<EntryRef, { items: RejectedItem[]; count: number }>();
  for (const { origin, reason } of invalid) {
    if (origin === undefined) continue; // every request of the bridge has one
    const { entry, index, value } = origin;
    if (index === undefined) {
      out.push({ entry, rejection: { code: 'INVALID_SESSION_ID', reason: `\`${INGRESS_FIELDS.sessionId}\` ${previewValue(value)}: ${reason}` } });
      continue;
    }
    const e = perEntry.get(entry) ?? { items: [], count: 0 };
    perEntry.set(entry, e);
    e.count++;
    // The first MAX_ITEM_REJECTIONS + 1: enough to decide and to summarise.
    if (e.items.length <= MAX_ITEM_REJECTIONS) e.items.push({ index, input: value, reason: `\`${INGRESS_FIELDS.sessionIds}[${index}]\` ${previewValue(value)}: ${reason}` });
  }
  for (const [entry, { items, count }] of perEntry) {
    for (const rejection of rejectItems(items, count, entry.elements)) out.push({ entry, rejection });
  }
  return out;
}

/**
 * What the bridge would do with one entry, without Redis: the requests it would enqueue and what
 * it would reject (ids checked by the same rule `enqueueCloses` applies). Never throws, whatever
 * the input: anything thrown while reading rejects the entry as `UNPARSEABLE` with the message.
 */
export function parseIngressEntry(pairs: readonly string[]): ParsedIngressEntry {
  const out: ParsedEntries = { requests: [], rejections: [] };
  collect({ id: '', pairs, position: 0, elements: 1 }, readIngressEntry(pairs), out);
  const requests: CloseRequest[] = [];
  const invalid: InvalidItem<IngressOrigin>[] = [];
  for (const item of out.requests) {
    const r = normalizeCloseItem<IngressOrigin>(item);
    if (isInvalid(r)) invalid.push(r);
    else requests.push(item.input as CloseRequest);
  }
  const lease = out.requests[0]?.origin.lease;
  return { requests, rejections: [...out.rejections, ...rejectInvalid(invalid)].map((r) => r.rejection), ...(lease ? { lease } : {}) };
}

/** The `<prefix>:ingress:rejected` records of some rejections, in the order of their entries. */
export function rejectedRecords(rejections: readonly EntryRejection[], now = Date.now()): string[][] {
  return [...rejections].sort((a, b) => a.entry.position - b.entry.position).map((r) => buildRejectedRecord(r.entry.id, r.entry.pairs, r.rejection, now));
}

function clip(s: string, max = REJECTED_VALUE_MAX_LENGTH): { text: string; clipped: boolean } {
  return s.length > max ? { text: s.slice(0, max), clipped: true } : { text: s, clipped: false };
}

/** A value as JSON, cut at `max` characters; a value JSON cannot render (too deeply nested) as a preview. Never throws. */
function jsonOf(value: unknown, max: number): { text: string; clipped: boolean } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return { text: previewValue(value, Math.min(max, 200)), clipped: true };
  }
  return clip(json ?? String(value), max);
}

/**
 * The field/value pairs of one `<prefix>:ingress:rejected` record. Every record has `entry_id`,
 * `code`, `reason` and `rejected_at`. A whole rejected entry also has `fields` (its original
 * field/value pairs as a JSON array, values cut at 8192 characters and `truncated` = `1` then;
 * an entry too large to read has its names and values cut at 1024 bytes, and `truncated` = `1`);
 * one rejected element of `session_ids` has `index` and `input` (the element as JSON) and the
 * entry's `project_id` / `request_id` when it had them. When more than 5 elements of one entry
 * were rejected, one record stands for all of them: `invalid_count` (how many) and
 * `invalid_items` (the first 5 as a JSON array of `{"index", "input", "reason"}`, `input` being
 * the element as JSON cut at 1024 characters), with the entry's `project_id` / `request_id`.
 * Never throws.
 */
export function buildRejectedRecord(entryId: string, pairs: readonly string[], rejection: IngressRejection, now = Date.now()): string[] {
  const out = ['entry_id', entryId, 'code', rejection.code, 'reason', rejection.reason, 'rejected_at', String(now)];
  let truncated = rejection.clipped === true;
  const correlation = () => {
    for (const name of [INGRESS_FIELDS.projectId, INGRESS_FIELDS.requestId]) {
      const at = pairs.findIndex((v, i) => i % 2 === 0 && v === name);
      if (at >= 0) out.push(name, pairs[at + 1] ?? '');
    }
  };
  if (rejection.items) {
    const items = rejection.items.first.map((i) => {
      const input = jsonOf(i.input, REJECTED_ITEM_MAX_LENGTH);
      truncated ||= input.clipped;
      return { ...(i.index !== undefined ? { index: i.index } : {}), input: input.text, reason: i.reason };
    });
    out.push('invalid_count', String(rejection.items.count), 'invalid_items', JSON.stringify(items));
    correlation();
  } else if (rejection.item) {
    const input = jsonOf(rejection.item.input, REJECTED_VALUE_MAX_LENGTH);
    truncated ||= input.clipped;
    out.push('index', String(rejection.item.index), 'input', input.text);
    correlation();
  } else {
    const values = pairs.map((v) => {
      const c = clip(v);
      truncated ||= c.clipped;
      return c.text;
    });
    out.push('fields', JSON.stringify(values));
  }
  if (truncated) out.push('truncated', '1');
  return out;
}
