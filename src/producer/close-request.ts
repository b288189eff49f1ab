import { validateSessionId } from '../browserbase/index.js';
import { ACCOUNT_NAME_PATTERN, ACCOUNT_NAME_RULE, closeJobIdFor, DEFAULT_ACCOUNT } from '../shared/names.js';

/** One close request: a session id, or an object with its correlation fields. */
export interface CloseRequest {
  sessionId: string;
  /** Sent as `projectId` with the close. */
  projectId?: string;
  /** Caller's correlation id, echoed in the results stream. */
  requestId?: string;
  /** The account whose key closes it (see the accounts file); default `default`. */
  account?: string;
}

export type CloseInput = string | CloseRequest;

/**
 * An input that was not enqueued, and why. `origin` is where it came from (a line number, a
 * stream entry), when it was given as a {@link SourcedInput}.
 */
export interface InvalidItem<O = unknown> {
  input: unknown;
  reason: string;
  origin?: O;
}

/**
 * An input to `enqueueCloses` that carries where it came from (`line 12`, an ingress entry), so
 * that, when it is invalid, its report entry says where. A reader that already knows the input is
 * unusable (a line too long, bad JSON) gives the `problem`: it is then reported with that reason,
 * without being validated. (A class, so no plain object or JSON value can be taken for one.)
 */
export class SourcedInput<O = unknown> {
  constructor(
    readonly input: unknown,
    readonly origin: O,
    readonly problem?: string,
  ) {}
}

export interface NormalizedRequest {
  sessionId: string;
  projectId?: string;
  requestId?: string;
  /** Always set: `default` when the input named none. */
  account: string;
  jobId: string;
}

/** Defaults for the fields an item does not carry. */
export interface RequestDefaults {
  projectId?: string;
  requestId?: string;
  account?: string;
}

/** Longest accepted `projectId` / `requestId`. */
export const MAX_FIELD_LENGTH = 256;

const KNOWN_FIELDS = new Set(['sessionId', 'projectId', 'requestId', 'account']);

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

/** The rule for an `account` field: absent, or an account name (`shared/names.ts`). Returns what is wrong, or undefined. */
export function checkAccountField(v: unknown): string | undefined {
  if (v === undefined || (typeof v === 'string' && ACCOUNT_NAME_PATTERN.test(v))) return undefined;
  return `\`account\` must be an account name: ${ACCOUNT_NAME_RULE}`;
}

/**
 * Validates one input and turns it into what a job needs. Returns the reason instead when it is
 * invalid; never throws, so one bad item cannot block the valid ones beside it.
 */
export function normalizeCloseRequest(input: unknown, defaults: RequestDefaults = {}): NormalizedRequest | InvalidItem<never> {
  let sessionId: unknown;
  let projectId: unknown = defaults.projectId;
  let requestId: unknown = defaults.requestId;
  let account: unknown = defaults.account;
  if (typeof input === 'string') {
    sessionId = input;
  } else if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !KNOWN_FIELDS.has(k));
    if (unknown.length > 0) return { input, reason: `unknown field(s) ${unknown.map((k) => `\`${k}\``).join(', ')}` };
    sessionId = o.sessionId;
    projectId = o.projectId ?? projectId;
    requestId = o.requestId ?? requestId;
    account = o.account ?? account;
    if (sessionId === undefined) return { input, reason: 'missing `sessionId`' };
  } else {
    return { input, reason: `expected a session id string or {sessionId}, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}` };
  }
  const idProblem = validateSessionId(sessionId);
  if (idProblem !== undefined) return { input, reason: `invalid session id: ${idProblem}` };
  const fieldProblem = checkOptionalField('projectId', projectId) ?? checkOptionalField('requestId', requestId) ?? checkAccountField(account);
  if (fieldProblem !== undefined) return { input, reason: fieldProblem };
  const id = sessionId as string;
  const acct = (account as string | undefined) ?? DEFAULT_ACCOUNT;
  return {
    sessionId: id,
    account: acct,
    jobId: closeJobIdFor(acct, id),
    ...(projectId !== undefined ? { projectId: projectId as string } : {}),
    ...(requestId !== undefined ? { requestId: requestId as string } : {}),
  };
}

export function isInvalid<O>(x: NormalizedRequest | InvalidItem<O>): x is InvalidItem<O> {
  return 'reason' in x;
}

/**
 * {@link normalizeCloseRequest} for one item of `enqueueCloses`: a plain input, or a
 * {@link SourcedInput} whose origin goes with it into the invalid item (and whose `problem`, when
 * given, is the reason). The one validation of every item, wherever it came from.
 */
export function normalizeCloseItem<O>(item: unknown, defaults: RequestDefaults = {}): NormalizedRequest | InvalidItem<O> {
  if (!(item instanceof SourcedInput)) return normalizeCloseRequest(item, defaults);
  const sourced = item as SourcedInput<O>;
  const r = sourced.problem !== undefined ? { input: sourced.input, reason: sourced.problem } : normalizeCloseRequest(sourced.input, defaults);
  return isInvalid(r) ? { input: r.input, reason: r.reason, origin: sourced.origin } : r;
}
