import type { Redis } from '../shared/redis.js';
import { INGRESS_FIELDS, INGRESS_READ_LIMITS, type OversizedEntry } from './entry.js';

/** Consumer group of the ingress bridge on `<prefix>:ingress`. Other groups may read the stream too. */
export const INGRESS_GROUP = 'bb-reaper-ingress';
/** Approximate cap of `<prefix>:ingress:rejected` (entries; older ones are trimmed). */
export const REJECTED_MAX_LEN = 10_000;

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

/** True for the error Redis answers when the stream or the group was deleted under us (also from inside a script). */
export function isNoGroupError(err: unknown): boolean {
  return /(^|\s)NOGROUP\b/.test(String((err as Error | undefined)?.message ?? ''));
}

/**
 * True when `err` comes from Redis or the connection to it (a reply error such as LOADING, NOPERM
 * or OOM, a closed or reconnecting connection, a timeout), not from handling the entries in
 * hand: such failures are retried for ever and never set an entry aside.
 */
export function isRedisFault(err: unknown, connections: readonly Redis[]): boolean {
  if (connections.some((c) => c.status !== 'ready')) return true;
  if (!(err instanceof Error)) return false;
  try {
    if (/^(Reply|Parser|Abort|Interrupt|Redis|MaxRetriesPerRequest)Error$/.test(err.name)) return true;
    if (typeof (err as NodeJS.ErrnoException).syscall === 'string') return true;
    return /Connection is closed|Command timed out|Stream isn't writeable|connect ETIMEDOUT|Socket timeout|Cluster/.test(String(err.message));
  } catch {
    return false; // an error whose fields cannot be read did not come from ioredis
  }
}

/**
 * Reads entries for the bridge without ever sending it a value too large to accept (see
 * INGRESS_READ_LIMITS): each entry is measured inside Redis, and one beyond the limits comes
 * back with its names and values cut and their lengths. Entries are taken one at a time
 * (XREADGROUP / XAUTOCLAIM with COUNT 1) until `count` entries, about `budget` bytes sent or
 * about `scanBudget` bytes looked at (so one call does not hold Redis long over huge entries):
 * one reply stays small whatever the stream holds, and nothing is delivered that is not returned.
 *
 * KEYS[1] stream. ARGV: group, consumer, mode, count, budget, scanBudget, sessionIdsBytes,
 * fieldBytes, maxItems, clipBytes, name of the `session_ids` field, then per mode:
 * `new` ids... (entries already delivered to this consumer, fetched first, then new ones are read);
 * `history` (this consumer's pending entries, from the start); `claim` cursor, minIdleMs.
 * Returns {cursor, {{id, fields | false, deliveries, false | {items, bytes, length...}}...}}.
 */
const READ_SCRIPT = `
local stream, group, consumer, mode = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local count, budget, scanBudget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local batchBytes, fieldBytes, maxItems, clipBytes = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local batchField = ARGV[11]

-- The first clipBytes bytes of s, not splitting a UTF-8 sequence.
local function cut(s)
  if #s <= clipBytes then return s end
  local e = clipBytes
  while e > 0 do
    local b = string.byte(s, e + 1)
    if b < 128 or b >= 192 then break end
    e = e - 1
  end
  return string.sub(s, 1, e)
end

-- The fields as they may be sent, what the reply says of an entry too large, the bytes sent and looked at.
local function screen(fields)
  if not fields then return false, false, 0, 0 end
  local n, total = #fields, 0
  local over = n > maxItems
  for i = 1, n do
    local len = #fields[i]
    total = total + len
    if not over then
      local limit = fieldBytes
      if i % 2 == 0 and fields[i - 1] == batchField then limit = batchBytes end
      if len > limit then over = true end
    end
  end
  if not over then return fields, false, total, total end
  local kept, info, size = {}, {n, total}, 0
  for i = 1, math.min(n, maxItems) do
    kept[i] = cut(fields[i])
    info[#info + 1] = #fields[i]
    size = size + #kept[i]
  end
  return kept, info, size, total
end

local function deliveries(id)
  local p = redis.call('XPENDING', stream, group, id, id, 1, consumer)
  if p[1] then return tonumber(p[1][4]) end
  return 0
end

local out, used, seen, cursor = {}, 0, 0, ''
local function add(id, fields, delivered)
  local sent, info, size, total = screen(fields)
  used = used + size + #id
  seen = seen + total
  out[#out + 1] = {id, sent, delivered, info}
end
local function more() return #out < count and used < budget and seen < scanBudget end

if mode == 'new' then
  for i = 12, #ARGV do
    local r = redis.call('XRANGE', stream, ARGV[i], ARGV[i])
    add(ARGV[i], r[1] and r[1][2] or false, deliveries(ARGV[i]))
  end
  while more() do
    local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
    local e = r and r[1][2][1]
    if not e then break end
    add(e[1], e[2], 1)
  end
elseif mode == 'history' then
  local after = '0'
  while more() do
    local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, after)
    local e = r and r[1][2][1]
    if not e then break end
    after = e[1]
    add(e[1], e[2], deliveries(e[1]))
  end
else
  cursor = ARGV[12]
  -- At most count XAUTOCLAIM calls, each scanning at most 10 pending entries.
  for _ = 1, count do
    if not more() then break end
    local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[13], cursor, 'COUNT', 1)
    cursor = r[1]
    for _, e in ipairs(r[2]) do
      if e then add(e[1], e[2], deliveries(e[1])) end
    end
    if cursor == '0-0' then break end
  end
end
return {cursor, out}
`;

/** About the most bytes of entries one read returns (always at least one entry). */
export const READ_BUDGET_BYTES = 4 * 1024 * 1024;
/** About the most bytes of entries one read looks at inside Redis (always at least one entry). */
export const READ_SCAN_BUDGET_BYTES = 64 * 1024 * 1024;

/** What {@link readEntries} reads: new entries (after fetching some already delivered), this consumer's pending ones, or entries claimed from others. */
export type ReadMode = { kind: 'new'; delivered?: readonly string[] } | { kind: 'history' } | { kind: 'claim'; cursor: string; minIdleMs: number };

export interface ReadResult {
  entries: StreamEntry[];
  /** Delivery count of each entry (1 for new entries). */
  deliveries: Map<string, number>;
  /** Entries too large to be read whole: their pairs in `entries` are cut (see INGRESS_READ_LIMITS). */
  oversized: Map<string, OversizedEntry>;
  /** The next XAUTOCLAIM cursor (`claim` reads; `0-0` once the whole pending list was scanned). */
  cursor: string;
}

/** One bounded read of the ingress group for `consumer` (see READ_SCRIPT). */
export async function readEntries(redis: Redis, stream: string, consumer: string, mode: ReadMode, count: number): Promise<ReadResult> {
  const L = INGRESS_READ_LIMITS;
  const extra = mode.kind === 'new' ? (mode.delivered ?? []) : mode.kind === 'claim' ? [mode.cursor, String(mode.minIdleMs)] : [];
  const args = [INGRESS_GROUP, consumer, mode.kind, count, READ_BUDGET_BYTES, READ_SCAN_BUDGET_BYTES, L.sessionIdsBytes, L.fieldBytes, L.maxItems, L.clipBytes, INGRESS_FIELDS.sessionIds, ...extra];
  const [cursor, rows] = (await redis.eval(READ_SCRIPT, 1, stream, ...args.map(String))) as [string, Array<[string, string[] | null, number, number[] | null]>];
  const result: ReadResult = { entries: [], deliveries: new Map(), oversized: new Map(), cursor };
  for (const [id, fields, deliveries, info] of rows) {
    result.entries.push([id, fields ?? null]);
    result.deliveries.set(id, Number(deliveries));
    if (info) result.oversized.set(id, { items: Number(info[0]), bytes: Number(info[1]), lengths: info.slice(2).map(Number) });
  }
  return result;
}

/** Ids of the entries of one XREADGROUP reply read as buffers (their values are dropped unread). */
export function idsOfBufferReply(reply: unknown): string[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [Buffer, Array<[Buffer, unknown]> | null];
  return (entries ?? []).map(([id]) => id.toString());
}

/**
 * Records rejections and acknowledges entries, all or nothing: the records are added one by one
 * and, should one XADD or the XACK fail (a key of the wrong type, OOM, the group deleted), the
 * records already added are deleted again and nothing is acknowledged. (MULTI/EXEC could not do
 * this: a failing XADD inside it does not stop the XACK after it.) A script, so a crash cannot
 * record a rejection twice or acknowledge an entry whose rejection was not recorded.
 *
 * KEYS[1] rejected stream, KEYS[2] ingress stream. ARGV: group, maxLen, number of records, then
 * per record its number of values and the values, then the ids to acknowledge.
 * Returns the number of records added.
 */
const REJECT_AND_ACK_SCRIPT = `
local rejected, stream, group, maxLen = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local at, added = 4, {}
local function undo(reply)
  for _, id in ipairs(added) do redis.call('XDEL', rejected, id) end
  return redis.error_reply(reply.err)
end
for _ = 1, tonumber(ARGV[3]) do
  local n = tonumber(ARGV[at])
  local args = {'XADD', rejected, 'MAXLEN', '~', maxLen, '*'}
  for i = at + 1, at + n do args[#args + 1] = ARGV[i] end
  at = at + n + 1
  local id = redis.pcall(unpack(args))
  if type(id) == 'table' and id.err then return undo(id) end
  added[#added + 1] = id
end
-- Acknowledged in slices: unpack of thousands of ids would overflow Lua's stack.
while at <= #ARGV do
  local last = math.min(#ARGV, at + 999)
  local r = redis.pcall('XACK', stream, group, unpack(ARGV, at, last))
  if type(r) == 'table' and r.err then return undo(r) end
  at = last + 1
end
return #added
`;

/** See REJECT_AND_ACK_SCRIPT: adds `records` to `rejectedStream` and acknowledges `ids` of `stream`, all or nothing. */
export async function rejectAndAck(redis: Redis, stream: string, rejectedStream: string, records: readonly string[][], ids: readonly string[]): Promise<void> {
  if (ids.length === 0 && records.length === 0) return;
  const args = [INGRESS_GROUP, String(REJECTED_MAX_LEN), String(records.length)];
  for (const r of records) args.push(String(r.length), ...r);
  args.push(...ids);
  await redis.eval(REJECT_AND_ACK_SCRIPT, 2, rejectedStream, stream, ...args);
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
