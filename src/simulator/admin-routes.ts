import type { SimulatorStats } from './request-stats.js';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { z } from 'zod';
import { previewValue } from '../shared/printable.js';
import { isLoopbackHostHeader, originMatchesHost } from '../shared/same-site.js';
import type { SimulatorState } from './state.js';
import { errorBody, HttpError, readJsonBody } from './http-io.js';
import { faultsSchema, type Faults } from './faults.js';
import { burstSchema, rateSchema } from './options.js';
import { resetState } from './state.js';
import { formatIssues, SimulatorInputError, toFieldIssues } from './validation.js';

/** Most sessions one `POST /_sim/sessions` (or `createSessions`) makes. */
export const MAX_SEED_COUNT = 100_000;

const seedSchema = z.strictObject({
  count: z
    .number({ error: `expected an integer from 1 to ${MAX_SEED_COUNT}` })
    .int({ error: `expected an integer from 1 to ${MAX_SEED_COUNT}` })
    .min(1, { error: `expected an integer from 1 to ${MAX_SEED_COUNT}` })
    .max(MAX_SEED_COUNT, { error: `expected an integer from 1 to ${MAX_SEED_COUNT}` }),
  userMetadata: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
  startedAgoSeconds: z
    .number({ error: 'expected a number of seconds from 0 to 31536000' })
    .min(0, { error: 'expected a number of seconds from 0 to 31536000' })
    .max(31_536_000, { error: 'expected a number of seconds from 0 to 31536000' })
    .optional(),
  keepAlive: z.boolean({ error: 'expected a boolean' }).optional(),
  status: z.enum(['RUNNING', 'PENDING'], { error: 'expected "RUNNING" or "PENDING"' }).optional(),
  projectId: z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' }).optional(),
});

/** Body of `POST /_sim/sessions` and options of `createSessions`. */
export type SeedSessionsInput = z.input<typeof seedSchema>;

/** Creates `count` sessions directly (no limits, not counted); throws `SimulatorInputError`. */
export function seedSessions(state: SimulatorState, input: unknown): string[] {
  const parsed = seedSchema.safeParse(input);
  if (!parsed.success) throw new SimulatorInputError('sessions request', toFieldIssues(parsed.error, input));
  const { count, projectId, ...rest } = parsed.data;
  const ids: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = state.store.add({ ...rest, projectId: projectId ?? state.options.projectId }).id;
  return ids;
}

const faultsUpdateSchema = faultsSchema.extend({ rate: rateSchema.optional(), burst: burstSchema.optional() });

/**
 * Changes faults (partially) and, with `rate` / `burst`, the token bucket. Validates everything
 * before changing anything; throws `SimulatorInputError` naming each bad field.
 */
export function updateFaults(state: SimulatorState, input: unknown): void {
  const parsed = faultsUpdateSchema.safeParse(input);
  if (!parsed.success) throw new SimulatorInputError('faults', toFieldIssues(parsed.error, input));
  const { rate, burst, ...faults } = parsed.data;
  for (const [k, v] of Object.entries(faults)) if (v !== undefined) (state.faults as unknown as Record<string, unknown>)[k] = v;
  if (rate !== undefined || burst !== undefined) {
    const newRate = rate ?? state.buckets.ratePerSecond;
    state.buckets.configure(newRate, burst ?? (rate !== undefined ? undefined : state.buckets.size));
  }
}

/** The fault and rate configuration in effect. */
export function describeFaults(state: SimulatorState): Faults & { rate: number; burst: number } {
  return { ...state.faults, latencyMs: [...state.faults.latencyMs], rate: state.buckets.ratePerSecond, burst: state.buckets.size };
}

/**
 * Why an admin request must be refused as coming from a web page (403), or undefined. The admin
 * API needs no key, so a page the operator visits could otherwise reset or fault the simulator:
 * browsers mark such requests with `Sec-Fetch-Site` or an `Origin` of the page. Scripts and the
 * test harness send neither. With `loopbackOnly` (the simulator listens on loopback), only
 * loopback `Host` names are answered, so a page cannot reach it by pointing its own name at
 * 127.0.0.1 (DNS rebinding).
 */
export function adminCrossSiteReason(headers: IncomingHttpHeaders, { loopbackOnly }: { loopbackOnly: boolean }): string | undefined {
  const host = headers.host;
  if (loopbackOnly && !isLoopbackHostHeader(host)) {
    return `Host ${previewValue(host ?? '', 100)} is not a loopback name (the simulator listens on loopback)`;
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `Sec-Fetch-Site is ${previewValue(site, 40)}: the admin API refuses requests from other sites`;
  }
  const origin = headers.origin;
  if (origin !== undefined && !originMatchesHost(origin, host)) return `Origin ${previewValue(origin, 100)} is not this simulator`;
  return undefined;
}

/** True for `application/json`, with or without parameters (`; charset=utf-8`). */
function isJsonMediaType(contentType: string): boolean {
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * Reads an admin POST body: JSON only. A `Content-Type` other than `application/json`, or a body
 * without one, is a 415 (an HTML form or a `no-cors` fetch cannot send `application/json`);
 * an empty body needs no type (`curl -X POST .../_sim/reset`).
 */
export async function readAdminBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !isJsonMediaType(type)) {
    throw new HttpError(415, `Expected \`Content-Type\` to be \`application/json\`, got ${previewValue(type, 100)}`);
  }
  const body = await readJsonBody(req);
  if (body !== undefined && type === undefined) throw new HttpError(415, 'Expected `Content-Type` to be `application/json`, got none');
  return body;
}

/** `GET /_sim/stats`: the counters over all projects, and `byProject` for each project that had a request with a valid key. */
export function simulatorStats(state: SimulatorState): SimulatorStats {
  const all = state.stats.snapshot(state.store.countByStatus());
  const byProject: SimulatorStats['byProject'] = {};
  for (const [id, s] of state.projectStats) {
    const own = s.snapshot(state.store.countByStatus(id));
    byProject[id] = { requests: own.requests.total, byStatus: own.requests.byStatus, maxRequestsInAnySecond: own.maxRequestsInAnySecond, maxInFlight: own.maxInFlight, released: own.closes.released, notFound: own.closes.notFound, sessions: own.sessions };
  }
  return { ...all, byProject };
}

const revokeSchema = z.strictObject({ apiKey: z.string({ error: 'expected the key to revoke' }).min(1, { error: 'expected the key to revoke' }) });

/**
 * Revokes a key until `reset()`: its requests answer 401 as a key Browserbase no longer accepts.
 * Returns whether it was an accepted key. The key is never echoed back.
 */
export function revokeKey(state: SimulatorState, input: unknown): boolean {
  const parsed = revokeSchema.safeParse(input);
  if (!parsed.success) throw new SimulatorInputError('revoke request', toFieldIssues(parsed.error, { apiKey: '[key]' }));
  const known = state.keyProjects.has(parsed.data.apiKey) && !state.revokedKeys.has(parsed.data.apiKey);
  state.revokedKeys.add(parsed.data.apiKey);
  return known;
}

/** Answers an admin request (`/_sim/...`): not counted, not rate limited, no key needed. */
export function handleAdminRequest(
  state: SimulatorState,
  method: string,
  path: string,
  segments: string[],
  search: string,
  body: unknown,
): { status: number; body: unknown } {
  const route = `${method} /${segments.join('/')}`;
  try {
    switch (route) {
      case 'POST /_sim/sessions':
        return { status: 200, body: { ids: seedSessions(state, body) } };
      case 'GET /_sim/stats':
        return { status: 200, body: simulatorStats(state) };
      case 'POST /_sim/keys/revoke':
        return { status: 200, body: { revoked: revokeKey(state, body) } };
      case 'GET /_sim/faults':
        return { status: 200, body: describeFaults(state) };
      case 'POST /_sim/faults':
        updateFaults(state, body ?? {});
        return { status: 200, body: describeFaults(state) };
      case 'POST /_sim/reset':
        resetState(state);
        return { status: 200, body: { reset: true } };
      case 'GET /_sim/calls': {
        const raw = new URLSearchParams(search).get('limit');
        const limit = raw === null ? undefined : Number(raw);
        if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
          throw new HttpError(400, `\`limit\`: expected a non-negative integer, got ${JSON.stringify(raw)}`);
        }
        return { status: 200, body: state.callLog.list(limit) };
      }
      default:
        return { status: 404, body: errorBody(404, `Route ${method}:${path} not found`) };
    }
  } catch (err) {
    if (err instanceof SimulatorInputError) return { status: 400, body: errorBody(400, formatIssues(err.issues)) };
    throw err;
  }
}
