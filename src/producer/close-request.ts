import { validateSessionId } from '../browserbase/index.js';
import { closeJobId } from '../shared/names.js';

/** One close request: a session id, or an object with its correlation fields. */
export interface CloseRequest {
  sessionId: string;
  /** Sent as `projectId` with the close. */
  projectId?: string;
  /** Caller's correlation id, echoed in the results stream. */
  requestId?: string;
}

export type CloseInput = string | CloseRequest;

/** An input that was not enqueued, and why. */
export interface InvalidItem {
  input: unknown;
  reason: string;
}

export interface NormalizedRequest {
  sessionId: string;
  projectId?: string;
  requestId?: string;
  jobId: string;
}

/** Longest accepted `projectId` / `requestId`. */
export const MAX_FIELD_LENGTH = 256;

const KNOWN_FIELDS = new Set(['sessionId', 'projectId', 'requestId']);

/**
 * The rule for an optional text field (`projectId`, `requestId`, a job's `source`): absent, or a
 * non-empty string of at most {@link MAX_FIELD_LENGTH} characters without control characters.
 * Returns what is wrong, or undefined. Shared by the producer and the worker's job-data check.
 */
export function checkOptionalField(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD_LENGTH || /\p{Cc}/u.test(v)) {
    return `\`${name}\` must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters without control characters`;
  }
  return undefined;
}

/**
 * Validates one input and turns it into what a job needs. Returns the reason instead when it is
 * invalid; never throws, so one bad item cannot block the valid ones beside it.
 */
export function normalizeCloseRequest(input: unknown, defaults: { projectId?: string; requestId?: string } = {}): NormalizedRequest | InvalidItem {
  let sessionId: unknown;
  let projectId: unknown = defaults.projectId;
  let requestId: unknown = defaults.requestId;
  if (typeof input === 'string') {
    sessionId = input;
  } else if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !KNOWN_FIELDS.has(k));
    if (unknown.length > 0) return { input, reason: `unknown field(s) ${unknown.map((k) => `\`${k}\``).join(', ')}` };
    sessionId = o.sessionId;
    projectId = o.projectId ?? projectId;
    requestId = o.requestId ?? requestId;
    if (sessionId === undefined) return { input, reason: 'missing `sessionId`' };
  } else {
    return { input, reason: `expected a session id string or {sessionId}, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}` };
  }
  const idProblem = validateSessionId(sessionId);
  if (idProblem !== undefined) return { input, reason: `invalid session id: ${idProblem}` };
  const fieldProblem = checkOptionalField('projectId', projectId) ?? checkOptionalField('requestId', requestId);
  if (fieldProblem !== undefined) return { input, reason: fieldProblem };
  const id = sessionId as string;
  return {
    sessionId: id,
    jobId: closeJobId(id),
    ...(projectId !== undefined ? { projectId: projectId as string } : {}),
    ...(requestId !== undefined ? { requestId: requestId as string } : {}),
  };
}

export function isInvalid(x: NormalizedRequest | InvalidItem): x is InvalidItem {
  return 'reason' in x;
}
