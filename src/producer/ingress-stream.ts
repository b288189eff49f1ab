import type { Redis } from 'ioredis';
import { INGRESS_FIELDS, type IngressRejection } from './ingress-entry.js';

/** Consumer group of the ingress bridge on `<prefix>:ingress`. Other groups may read the stream too. */
export const INGRESS_GROUP = 'bb-reaper-ingress';
/** Approximate cap of `<prefix>:ingress:rejected` (entries; older ones are trimmed). */
export const REJECTED_MAX_LEN = 10_000;
/** Longest value copied into a rejected record's `fields` / `input`, in characters. */
export const REJECTED_VALUE_MAX_LENGTH = 8192;

/** One stream entry as Redis returns it; `fields` is null when it was deleted while pending. */
export type StreamEntry = [id: string, fields: string[] | null];

/** Creates the group (from the start of the stream, so entries written before any bridge ran count). */
export async function ensureIngressGroup(redis: Redis, stream: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, INGRESS_GROUP, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
  }
}

/** True for the error Redis answers when the stream or the group was deleted under us. */
export function isNoGroupError(err: unknown): boolean {
  return String((err as Error | undefined)?.message ?? '').startsWith('NOGROUP');
}

/** Entries of one XREADGROUP reply (or none). */
export function entriesOf(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [string, StreamEntry[]];
  return entries ?? [];
}

/** Delivery counts of entries pending on `consumer` between two ids (XPENDING extended form). */
export async function readDeliveryCounts(redis: Redis, stream: string, consumer: string, first: string, last: string, count: number): Promise<Map<string, number>> {
  const rows = (await redis.xpending(stream, INGRESS_GROUP, first, last, count, consumer)) as Array<[string, string, number, number]>;
  return new Map(rows.map(([id, , , deliveries]) => [id, Number(deliveries)]));
}

function clip(s: string): { text: string; clipped: boolean } {
  return s.length > REJECTED_VALUE_MAX_LENGTH ? { text: s.slice(0, REJECTED_VALUE_MAX_LENGTH), clipped: true } : { text: s, clipped: false };
}

/**
 * The field/value pairs of one `<prefix>:ingress:rejected` record. Every record has `entry_id`,
 * `code`, `reason` and `rejected_at`. A whole rejected entry also has `fields` (its original
 * field/value pairs as a JSON array, values cut at 8192 characters and `truncated` = `1` then);
 * one rejected element of `session_ids` has `index` and `input` (the element as JSON) and the
 * entry's `project_id` / `request_id` when it had them.
 */
export function buildRejectedRecord(entryId: string, pairs: readonly string[], rejection: IngressRejection, now = Date.now()): string[] {
  const out = ['entry_id', entryId, 'code', rejection.code, 'reason', rejection.reason, 'rejected_at', String(now)];
  let truncated = false;
  if (rejection.item) {
    const input = clip(JSON.stringify(rejection.item.input) ?? String(rejection.item.input));
    truncated = input.clipped;
    out.push('index', String(rejection.item.index), 'input', input.text);
    for (const name of [INGRESS_FIELDS.projectId, INGRESS_FIELDS.requestId]) {
      const at = pairs.findIndex((v, i) => i % 2 === 0 && v === name);
      if (at >= 0) out.push(name, pairs[at + 1] ?? '');
    }
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

/**
 * Records rejections and acknowledges entries in one MULTI/EXEC, so a crash cannot record a
 * rejection twice or acknowledge an entry whose rejection was not recorded.
 */
export async function rejectAndAck(redis: Redis, stream: string, rejectedStream: string, records: string[][], ids: string[]): Promise<void> {
  if (ids.length === 0 && records.length === 0) return;
  const multi = redis.multi();
  for (const r of records) multi.call('XADD', rejectedStream, 'MAXLEN', '~', String(REJECTED_MAX_LEN), '*', ...r);
  if (ids.length > 0) multi.xack(stream, INGRESS_GROUP, ...ids);
  const results = (await multi.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}

// Lua helpers. Stream ids are compared as (ms, seq) digit strings, so no precision is lost.
const COMPARE_IDS = `
local function cmpPart(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function lessId(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  local c = cmpPart(am, bm)
  if c ~= 0 then return c < 0 end
  return cmpPart(as, bs) < 0
end
local function toMap(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end
`;

/**
 * Trims the stream below the oldest entry some group still needs: for every group, its oldest
 * pending entry, or else its last delivered one (kept, harmlessly; everything before it is
 * acknowledged). Entries not yet delivered to a group are after its last delivered id, so they
 * are never trimmed. Atomic, so no entry can be delivered in between. Returns entries removed.
 */
const TRIM_SCRIPT = `${COMPARE_IDS}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local minId = nil
for _, g in ipairs(groups) do
  local info = toMap(g)
  local candidate = info['last-delivered-id']
  if tonumber(info['pending']) > 0 then
    candidate = redis.call('XPENDING', KEYS[1], info['name'])[2]
  end
  if minId == nil or lessId(candidate, minId) then minId = candidate end
end
return redis.call('XTRIM', KEYS[1], 'MINID', minId)
`;

/** Removes consumers (never `ARGV[3]`) with nothing pending that have been idle `ARGV[2]` ms. */
const PRUNE_SCRIPT = `
local function toMap(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = toMap(c)
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) >= tonumber(ARGV[2]) and info['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
`;

/** Removes one consumer if nothing is pending on it (atomic, so nothing pending can be lost). */
const DROP_CONSUMER_SCRIPT = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

/** See TRIM_SCRIPT. Returns the number of entries removed. */
export async function trimAcknowledged(redis: Redis, stream: string): Promise<number> {
  return Number(await redis.eval(TRIM_SCRIPT, 1, stream));
}

/** Removes consumers of the ingress group that hold nothing and have been idle `idleMs`. */
export async function pruneIdleConsumers(redis: Redis, stream: string, idleMs: number, keep: string): Promise<number> {
  return Number(await redis.eval(PRUNE_SCRIPT, 1, stream, INGRESS_GROUP, String(idleMs), keep));
}

/** Removes `consumer` from the group when nothing is pending on it; returns whether it did. */
export async function dropConsumerIfIdle(redis: Redis, stream: string, consumer: string): Promise<boolean> {
  return Number(await redis.eval(DROP_CONSUMER_SCRIPT, 1, stream, INGRESS_GROUP, consumer)) === 1;
}
