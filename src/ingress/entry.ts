import { LeaseError, parseLeaseTtl, ttlUntil } from '../leases/lease-options.js';
import { previewValue, printable } from '../shared/printable.js';
import { MAX_FIELD_LENGTH, checkAccountField, checkOptionalField, type CloseRequest } from '../producer/close-request.js';

/** Field names of an entry of the ingress stream `<prefix>:ingress` (a public, documented schema). */
export const INGRESS_FIELDS = {
  sessionId: 'session_id',
  sessionIds: 'session_ids',
  projectId: 'project_id',
  requestId: 'request_id',
  /** The account whose key closes the entry's sessions (default `default`). */
  account: 'account',
  /** Makes the entry a lease: close this long after the entry is handled unless renewed (`90s`, `10m`). */
  closeAfter: 'close_after',
  /** Makes the entry a lease: close at this time (ms since the epoch) unless renewed. */
  closeAt: 'close_at',
} as const;

/** The lease an entry asks for: close `ttlMs` after it is handled, or at `atMs`. */
export type IngressLease = { ttlMs: number } | { atMs: number };

/** Size limits of one ingress entry. An entry beyond them is rejected whole. */
export const INGRESS_LIMITS = {
  /** Most ids in one `session_ids` array. */
  maxBatchIds: 10_000,
  /** Longest `session_ids` value, in characters (1 MiB of ASCII). */
  maxSessionIdsLength: 1_048_576,
  /** Most extra (unknown) fields an entry may carry; they are ignored. */
  maxUnknownFields: 16,
  /** Most characters in all extra fields together (names and values). */
  maxUnknownLength: 4096,
} as const;

/**
 * What the bridge reads of one entry, in bytes, checked inside Redis: an entry beyond these is
 * never sent whole to the bridge; it arrives with its names and values cut to `clipBytes` and
 * their lengths, and is rejected as `TOO_LARGE`. A value within a character limit above is at
 * most 3 bytes per character (UTF-8 per UTF-16 unit), so nothing acceptable is cut.
 */
export const INGRESS_READ_LIMITS = {
  /** Longest `session_ids` value read whole (3 × `maxSessionIdsLength`). */
  sessionIdsBytes: 3 * INGRESS_LIMITS.maxSessionIdsLength,
  /** Longest other field name or value read whole (3 × `maxUnknownLength`). */
  fieldBytes: 3 * INGRESS_LIMITS.maxUnknownLength,
  /** Most names and values (two per field) read of one entry. */
  maxItems: 128,
  /** Bytes kept of each name and value of an entry too large to read. */
  clipBytes: 1024,
} as const;

/** More invalid `session_ids` elements than this in one entry are recorded as one summarised rejection. */
export const MAX_ITEM_REJECTIONS = 5;

/**
 * Stable codes of rejected ingress input (field `code` of `<prefix>:ingress:rejected`):
 * - `MISSING_SESSION_ID`: neither `session_id` nor `session_ids` (or an empty array).
 * - `INVALID_SESSION_ID`: an id that is not a valid session id (the whole entry's, or elements of `session_ids`).
 * - `INVALID_JSON`: `session_ids` is not JSON.
 * - `INVALID_FIELD`: a field with a bad value, or both `session_id` and `session_ids`.
 * - `DUPLICATE_FIELD`: a documented field given twice.
 * - `UNKNOWN_FIELD`: a likely misspelling of a documented field (`sessionId`, `ids`...).
 * - `TOO_LARGE`: beyond {@link INGRESS_LIMITS} (or {@link INGRESS_READ_LIMITS}: then never read whole).
 * - `UNPARSEABLE`: reading the entry failed in an unforeseen way (the message says how).
 * - `TOO_MANY_DELIVERIES`: every consumer holding it stopped before acknowledging it, too many times.
 * - `UNPROCESSABLE`: handling it failed again and again while Redis answered (set aside by the bridge).
 */
export type IngressRejectCode =
  | 'MISSING_SESSION_ID'
  | 'INVALID_SESSION_ID'
  | 'INVALID_JSON'
  | 'INVALID_FIELD'
  | 'DUPLICATE_FIELD'
  | 'UNKNOWN_FIELD'
  | 'TOO_LARGE'
  | 'UNPARSEABLE'
  | 'TOO_MANY_DELIVERIES'
  | 'UNPROCESSABLE';

/** One rejected element of `session_ids`, as kept in a summarised rejection. */
export interface RejectedItem {
  /** Position in `session_ids` (absent when not known). */
  index?: number;
  input: unknown;
  reason: string;
}

/** Why (part of) an entry was not enqueued. */
export interface IngressRejection {
  code: IngressRejectCode;
  reason: string;
  /**
   * Set when one element of `session_ids` was rejected (the rest of the entry went through):
   * its position in the array and the element itself.
   */
  item?: { index: number; input: unknown };
  /**
   * Set when more than {@link MAX_ITEM_REJECTIONS} elements of one entry were rejected (the rest
   * went through): one rejection stands for all of them, with their number and the first few.
   */
  items?: { count: number; first: RejectedItem[] };
  /** The entry's values were cut before they reached the bridge (an entry too large to read). */
  clipped?: boolean;
}

/**
 * What a read tells of an entry too large to be sent whole (see {@link INGRESS_READ_LIMITS}).
 * The entry's pairs that come with it are the first `maxItems` names and values, each cut.
 */
export interface OversizedEntry {
  /** Names and values the entry has (two per field). */
  items: number;
  /** Bytes of all its names and values. */
  bytes: number;
  /** Byte length of each name and value that came with it, before it was cut. */
  lengths: number[];
}

/** What one entry asks for: the close requests to enqueue (or lease) and what was rejected. */
export interface ParsedIngressEntry {
  requests: CloseRequest[];
  rejections: IngressRejection[];
  /** Set when the entry asks for leases (`close_after` / `close_at`) rather than closes now. */
  lease?: IngressLease;
}

/** `project_id` / `request_id` / `account` of an entry, as close request fields. */
export interface CorrelationFields {
  projectId?: string;
  requestId?: string;
  account?: string;
}

/**
 * One entry read for its shape (fields, sizes, JSON), before its ids are checked: rejected
 * whole, or the id(s) it asks for with its correlation fields. The ids themselves are checked
 * once, by `enqueueCloses`.
 */
export type IngressEntryRead =
  | { kind: 'rejected'; rejection: IngressRejection }
  | { kind: 'single'; sessionId: string; extra: CorrelationFields; lease?: IngressLease }
  | { kind: 'batch'; elements: readonly unknown[]; extra: CorrelationFields; lease?: IngressLease };

/**
 * camelCase spellings that are almost certainly a mistake for a documented field. A Map, so a
 * field named `constructor` or `__proto__` is not found on a prototype.
 */
const MISSPELLINGS = new Map<string, string>([
  ['sessionId', INGRESS_FIELDS.sessionId],
  ['sessionIds', INGRESS_FIELDS.sessionIds],
  ['projectId', INGRESS_FIELDS.projectId],
  ['requestId', INGRESS_FIELDS.requestId],
  ['id', INGRESS_FIELDS.sessionId],
  ['ids', INGRESS_FIELDS.sessionIds],
  ['closeAfter', INGRESS_FIELDS.closeAfter],
  ['closeAt', INGRESS_FIELDS.closeAt],
  ['ttl', INGRESS_FIELDS.closeAfter],
]);

const KNOWN = new Set<string>(Object.values(INGRESS_FIELDS));

const rejected = (code: IngressRejectCode, reason: string): IngressEntryRead => ({ kind: 'rejected', rejection: { code, reason } });

/** The message of anything thrown, printable and bounded. Never throws. */
export function describeThrown(err: unknown, max = 500): string {
  let message: string;
  try {
    message = err instanceof Error ? `${err.name}: ${String(err.message)}` : previewValue(err, max);
  } catch {
    message = '(an error that cannot be read)';
  }
  return printable(message.length > max ? `${message.slice(0, max)}…` : message);
}

/** The rule of a close request's optional field, told with the entry's field name and value. */
function checkOptional(name: string, value: string | undefined): string | undefined {
  const problem = checkOptionalField(name, value);
  return problem === undefined ? undefined : `${problem}, got ${previewValue(value)}`;
}

/**
 * Reads the field/value pairs of one ingress entry (as Redis returns them) for its shape. Never
 * throws, whatever the input: structural problems reject the whole entry with one reason;
 * anything thrown while reading rejects it as `UNPARSEABLE` with the error's message.
 */
export function readIngressEntry(pairs: readonly string[], now = Date.now()): IngressEntryRead {
  try {
    return readFields(pairs, now);
  } catch (err) {
    return rejected('UNPARSEABLE', `the entry could not be read (${describeThrown(err)})`);
  }
}

/**
 * The lease of `close_after` / `close_at` (at most one of them), or a rejection reason. A
 * `close_after` is a duration of 10 s to 6 h; a `close_at` a time in ms since the epoch 10 s to 6 h
 * from now.
 */
function readLease(fields: ReadonlyMap<string, string>, now: number): IngressLease | string | undefined {
  const after = fields.get(INGRESS_FIELDS.closeAfter);
  const at = fields.get(INGRESS_FIELDS.closeAt);
  if (after !== undefined && at !== undefined) return 'give either `close_after` or `close_at`, not both';
  try {
    if (after !== undefined) return { ttlMs: parseLeaseTtl(after, INGRESS_FIELDS.closeAfter) };
    if (at !== undefined) {
      const atMs = /^\d{1,16}$/.test(at) ? Number(at) : Number.NaN;
      ttlUntil(Number.isSafeInteger(atMs) ? atMs : at, now, INGRESS_FIELDS.closeAt);
      return { atMs };
    }
  } catch (err) {
    if (err instanceof LeaseError) return err.message;
    throw err;
  }
  return undefined;
}

function readFields(pairs: readonly string[], now: number): IngressEntryRead {
  if (pairs.length % 2 !== 0) return rejected('INVALID_FIELD', 'odd number of field/value items');
  const fields = new Map<string, string>();
  let unknownCount = 0;
  let unknownLength = 0;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i] as string;
    const value = pairs[i + 1] as string;
    if (KNOWN.has(name)) {
      if (fields.has(name)) return rejected('DUPLICATE_FIELD', `field \`${name}\` appears more than once; give it once (use \`session_ids\` for several ids)`);
      fields.set(name, value);
      continue;
    }
    const meant = MISSPELLINGS.get(name);
    if (meant !== undefined) return rejected('UNKNOWN_FIELD', `unknown field \`${name}\`; did you mean \`${meant}\`?`);
    unknownCount++;
    unknownLength += name.length + value.length;
  }
  if (unknownCount > INGRESS_LIMITS.maxUnknownFields || unknownLength > INGRESS_LIMITS.maxUnknownLength) {
    return rejected(
      'TOO_LARGE',
      `${unknownCount} unknown field(s) of ${unknownLength} characters in all; at most ${INGRESS_LIMITS.maxUnknownFields} fields of ${INGRESS_LIMITS.maxUnknownLength} characters are tolerated`,
    );
  }

  const projectId = fields.get(INGRESS_FIELDS.projectId);
  const requestId = fields.get(INGRESS_FIELDS.requestId);
  const account = fields.get(INGRESS_FIELDS.account);
  const accountProblem = checkAccountField(account);
  const fieldProblem =
    checkOptional(INGRESS_FIELDS.projectId, projectId) ??
    checkOptional(INGRESS_FIELDS.requestId, requestId) ??
    (accountProblem !== undefined ? `${accountProblem}, got ${previewValue(account)}` : undefined);
  if (fieldProblem !== undefined) return rejected('INVALID_FIELD', fieldProblem);
  const extra = { ...(projectId !== undefined ? { projectId } : {}), ...(requestId !== undefined ? { requestId } : {}), ...(account !== undefined ? { account } : {}) };
  const lease = readLease(fields, now);
  if (typeof lease === 'string') return rejected('INVALID_FIELD', lease);

  const single = fields.get(INGRESS_FIELDS.sessionId);
  const batch = fields.get(INGRESS_FIELDS.sessionIds);
  if (single !== undefined && batch !== undefined) {
    return rejected('INVALID_FIELD', 'give either `session_id` or `session_ids`, not both');
  }
  if (single !== undefined) return { kind: 'single', sessionId: single, extra, ...(lease ? { lease } : {}) };
  if (batch === undefined) return rejected('MISSING_SESSION_ID', 'the entry has neither `session_id` nor `session_ids`');
  return readBatch(batch, extra, lease);
}

function readBatch(raw: string, extra: CorrelationFields, lease: IngressLease | undefined): IngressEntryRead {
  if (raw.length > INGRESS_LIMITS.maxSessionIdsLength) {
    return rejected('TOO_LARGE', `\`session_ids\` is ${raw.length} characters long; the maximum is ${INGRESS_LIMITS.maxSessionIdsLength}: split the batch`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return rejected('INVALID_JSON', `\`session_ids\` is not valid JSON (${describeThrown(err, 200)}), got ${previewValue(raw)}`);
  }
  if (!Array.isArray(parsed)) {
    return rejected('INVALID_FIELD', `\`session_ids\` must be a JSON array of session id strings, got ${parsed === null ? 'null' : typeof parsed}`);
  }
  if (parsed.length === 0) return rejected('MISSING_SESSION_ID', '`session_ids` is an empty array');
  if (parsed.length > INGRESS_LIMITS.maxBatchIds) {
    return rejected('TOO_LARGE', `\`session_ids\` has ${parsed.length} ids; the maximum is ${INGRESS_LIMITS.maxBatchIds}: split the batch`);
  }
  return { kind: 'batch', elements: parsed as unknown[], extra, ...(lease ? { lease } : {}) };
}

/** Why an element of `session_ids` is not even a candidate id (not a string), or undefined. */
export function elementTypeProblem(element: unknown): string | undefined {
  if (typeof element === 'string') return undefined;
  return `expected a session id string, got ${element === null ? 'null' : Array.isArray(element) ? 'an array' : typeof element}`;
}

/**
 * Rejections of elements of one entry's `session_ids` (code `INVALID_SESSION_ID`): each on its
 * own when there are at most {@link MAX_ITEM_REJECTIONS}, else one rejection for all `count` of
 * them carrying the first few, so one entry cannot flood the capped rejected stream.
 * `items` holds (at least) the first ones; `total` is the number of elements of the entry.
 */
export function rejectItems(items: readonly RejectedItem[], count: number, total: number): IngressRejection[] {
  if (count <= MAX_ITEM_REJECTIONS) {
    return items.map((i) => ({ code: 'INVALID_SESSION_ID', reason: i.reason, ...(i.index !== undefined ? { item: { index: i.index, input: i.input } } : {}) }));
  }
  const first = items.slice(0, MAX_ITEM_REJECTIONS);
  return [
    {
      code: 'INVALID_SESSION_ID',
      reason: `${count} of the ${total} elements of \`session_ids\` are invalid (the ${total - count} others went through); the first: ${first[0]?.reason ?? '?'}`,
      items: { count, first },
    },
  ];
}

/**
 * The rejection of an entry too large to be read whole (see {@link INGRESS_READ_LIMITS}): its
 * field names and the byte length of each value too long to read, from what the read sent.
 */
export function rejectOversizedEntry(pairs: readonly string[], size: OversizedEntry): ParsedIngressEntry {
  const problems: string[] = [];
  if (size.items > INGRESS_READ_LIMITS.maxItems) problems.push(`it has ${Math.floor(size.items / 2)} fields (at most ${INGRESS_READ_LIMITS.maxItems / 2} are read)`);
  size.lengths.forEach((length, i) => {
    const isName = i % 2 === 0;
    const name = isName ? undefined : pairs[i - 1];
    const limit = name === INGRESS_FIELDS.sessionIds ? INGRESS_READ_LIMITS.sessionIdsBytes : INGRESS_READ_LIMITS.fieldBytes;
    if (length <= limit) return;
    const accepted =
      name === INGRESS_FIELDS.sessionIds ? INGRESS_LIMITS.maxSessionIdsLength : name !== undefined && KNOWN.has(name) ? MAX_FIELD_LENGTH : INGRESS_LIMITS.maxUnknownLength;
    problems.push(
      isName
        ? `a field name is ${length} bytes long (it starts ${previewValue((pairs[i] ?? '').slice(0, 32))})`
        : `field ${previewValue(name ?? '')} is ${length} bytes long (at most ${accepted} characters are accepted)`,
    );
  });
  return {
    requests: [],
    rejections: [{ code: 'TOO_LARGE', reason: `the entry is too large to read (${size.bytes} bytes in all): ${problems.join('; ') || 'too large'}`, clipped: true }],
  };
}
