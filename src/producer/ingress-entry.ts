import { MAX_FIELD_LENGTH, isInvalid, normalizeCloseRequest, type CloseRequest } from './close-request.js';

/** Field names of an entry of the ingress stream `<prefix>:ingress` (a public, documented schema). */
export const INGRESS_FIELDS = {
  sessionId: 'session_id',
  sessionIds: 'session_ids',
  projectId: 'project_id',
  requestId: 'request_id',
} as const;

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

/** Stable codes of rejected ingress input (field `code` of `<prefix>:ingress:rejected`). */
export type IngressRejectCode =
  | 'MISSING_SESSION_ID'
  | 'INVALID_SESSION_ID'
  | 'INVALID_JSON'
  | 'INVALID_FIELD'
  | 'DUPLICATE_FIELD'
  | 'UNKNOWN_FIELD'
  | 'TOO_LARGE'
  | 'TOO_MANY_DELIVERIES';

/** Why (part of) an entry was not enqueued. */
export interface IngressRejection {
  code: IngressRejectCode;
  reason: string;
  /**
   * Set when one element of `session_ids` was rejected (the rest of the entry went through):
   * its position in the array and the element itself.
   */
  item?: { index: number; input: unknown };
}

/** What one entry asks for: the close requests to enqueue and what was rejected. */
export interface ParsedIngressEntry {
  requests: CloseRequest[];
  rejections: IngressRejection[];
}

/** camelCase spellings that are almost certainly a mistake for a documented field. */
const MISSPELLINGS: Record<string, string> = {
  sessionId: INGRESS_FIELDS.sessionId,
  sessionIds: INGRESS_FIELDS.sessionIds,
  projectId: INGRESS_FIELDS.projectId,
  requestId: INGRESS_FIELDS.requestId,
  id: INGRESS_FIELDS.sessionId,
  ids: INGRESS_FIELDS.sessionIds,
};

const KNOWN = new Set<string>(Object.values(INGRESS_FIELDS));

const entryError = (code: IngressRejectCode, reason: string): ParsedIngressEntry => ({ requests: [], rejections: [{ code, reason }] });

/** A short printable rendering of a value for a reason (never the whole megabyte). */
export function previewValue(value: unknown, max = 64): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  const json = JSON.stringify(cut).replace(/[\p{C}\p{Z}]/gu, (c) => (c === ' ' ? c : `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`));
  return s.length > max ? `${json} (${s.length} characters)` : json;
}

function checkOptional(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > MAX_FIELD_LENGTH || /\p{Cc}/u.test(value)) {
    return `\`${name}\` must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters without control characters, got ${previewValue(value)}`;
  }
  return undefined;
}

/**
 * Reads the field/value pairs of one ingress entry (as Redis returns them) and turns them into
 * close requests. Never throws: structural problems reject the whole entry with one reason;
 * invalid elements of `session_ids` are rejected one by one while the valid ones go through.
 */
export function parseIngressEntry(pairs: readonly string[]): ParsedIngressEntry {
  if (pairs.length % 2 !== 0) return entryError('INVALID_FIELD', 'odd number of field/value items');
  const fields = new Map<string, string>();
  let unknownCount = 0;
  let unknownLength = 0;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i] as string;
    const value = pairs[i + 1] as string;
    if (KNOWN.has(name)) {
      if (fields.has(name)) return entryError('DUPLICATE_FIELD', `field \`${name}\` appears more than once; give it once (use \`session_ids\` for several ids)`);
      fields.set(name, value);
      continue;
    }
    const meant = MISSPELLINGS[name];
    if (meant !== undefined) return entryError('UNKNOWN_FIELD', `unknown field \`${name}\`; did you mean \`${meant}\`?`);
    unknownCount++;
    unknownLength += name.length + value.length;
  }
  if (unknownCount > INGRESS_LIMITS.maxUnknownFields || unknownLength > INGRESS_LIMITS.maxUnknownLength) {
    return entryError(
      'TOO_LARGE',
      `${unknownCount} unknown field(s) of ${unknownLength} characters in all; at most ${INGRESS_LIMITS.maxUnknownFields} fields of ${INGRESS_LIMITS.maxUnknownLength} characters are tolerated`,
    );
  }

  const projectId = fields.get(INGRESS_FIELDS.projectId);
  const requestId = fields.get(INGRESS_FIELDS.requestId);
  const fieldProblem = checkOptional(INGRESS_FIELDS.projectId, projectId) ?? checkOptional(INGRESS_FIELDS.requestId, requestId);
  if (fieldProblem !== undefined) return entryError('INVALID_FIELD', fieldProblem);
  const extra = { ...(projectId !== undefined ? { projectId } : {}), ...(requestId !== undefined ? { requestId } : {}) };

  const single = fields.get(INGRESS_FIELDS.sessionId);
  const batch = fields.get(INGRESS_FIELDS.sessionIds);
  if (single !== undefined && batch !== undefined) {
    return entryError('INVALID_FIELD', 'give either `session_id` or `session_ids`, not both');
  }
  if (single !== undefined) {
    const r = normalizeCloseRequest({ sessionId: single, ...extra });
    if (isInvalid(r)) return entryError('INVALID_SESSION_ID', `\`session_id\` ${previewValue(single)}: ${r.reason}`);
    return { requests: [{ sessionId: r.sessionId, ...extra }], rejections: [] };
  }
  if (batch === undefined) return entryError('MISSING_SESSION_ID', 'the entry has neither `session_id` nor `session_ids`');
  return parseBatch(batch, extra);
}

function parseBatch(raw: string, extra: { projectId?: string; requestId?: string }): ParsedIngressEntry {
  if (raw.length > INGRESS_LIMITS.maxSessionIdsLength) {
    return entryError('TOO_LARGE', `\`session_ids\` is ${raw.length} characters long; the maximum is ${INGRESS_LIMITS.maxSessionIdsLength}: split the batch`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return entryError('INVALID_JSON', `\`session_ids\` is not valid JSON (${(err as Error).message}), got ${previewValue(raw)}`);
  }
  if (!Array.isArray(parsed)) {
    return entryError('INVALID_FIELD', `\`session_ids\` must be a JSON array of session id strings, got ${parsed === null ? 'null' : typeof parsed}`);
  }
  if (parsed.length === 0) return entryError('MISSING_SESSION_ID', '`session_ids` is an empty array');
  if (parsed.length > INGRESS_LIMITS.maxBatchIds) {
    return entryError('TOO_LARGE', `\`session_ids\` has ${parsed.length} ids; the maximum is ${INGRESS_LIMITS.maxBatchIds}: split the batch`);
  }
  const out: ParsedIngressEntry = { requests: [], rejections: [] };
  parsed.forEach((input: unknown, index) => {
    const reason =
      typeof input !== 'string'
        ? `expected a session id string, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`
        : (() => {
            const r = normalizeCloseRequest({ sessionId: input, ...extra });
            return isInvalid(r) ? r.reason : undefined;
          })();
    if (reason === undefined) out.requests.push({ sessionId: input as string, ...extra });
    else out.rejections.push({ code: 'INVALID_SESSION_ID', reason: `\`session_ids[${index}]\` ${previewValue(input)}: ${reason}`, item: { index, input } });
  });
  return out;
}
