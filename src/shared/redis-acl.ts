/**
 * The least a Redis ACL user needs to run every bb-reaper command (worker, ui, close, stats, dlq,
 * sweep, ingress) under one key prefix: the one source the README quotes and the tests apply.
 *
 * Commands inside Lua scripts are checked against the user too, so the list holds every command
 * BullMQ's and bb-reaper's scripts call (a unit test reads BullMQ's scripts and fails when an
 * upgrade calls one that is missing here), plus what the clients send themselves: the
 * connection's handshake, scripts and blocking reads. No pub/sub: Bottleneck runs locally in each
 * worker (the global limiter's shared state is bb-reaper's own scripts).
 */
import { accountKeyPrefix, keyPrefix, type KeyScope } from './names.js';

/** Commands (and `command|subcommand`s) the user may run, grouped by who needs them. */
export const ACL_COMMANDS = {
  /** ioredis's handshake and health: connection name, ready check (INFO), PING, QUIT, SELECT of `/db`. */
  connection: ['ping', 'quit', 'select', 'info', 'client|setname'],
  /** ioredis on Redis Cluster: the slot map and the cluster's state (its ready check). */
  cluster: ['cluster|slots', 'cluster|info'],
  /** Lua scripts (ioredis sends EVALSHA, then EVAL when the script is not cached). */
  scripting: ['eval', 'evalsha'],
  /** Blocking reads: BullMQ's worker (BZPOPMIN), followers of the results stream (XREAD). */
  blocking: ['bzpopmin', 'xread'],
  /** Atomic reads (BullMQ reads a job's logs in a MULTI, for the queue UI). */
  transaction: ['multi', 'exec'],
  /** Data commands, called directly or from scripts (strings, hashes, lists, sets, sorted sets, streams, keys). */
  data: [
    'get', 'set', 'del', 'unlink', 'exists', 'type', 'rename', 'incr', 'incrby', 'time',
    'pexpire', 'pexpireat', 'persist', 'pttl',
    'hget', 'hset', 'hsetnx', 'hmget', 'hmset', 'hdel', 'hgetall', 'hkeys', 'hlen', 'hexists', 'hincrby', 'hincrbyfloat', 'hstrlen', 'hscan',
    'lpush', 'rpush', 'lpop', 'rpop', 'rpoplpush', 'llen', 'lrange', 'lrem', 'ltrim', 'lindex', 'lpos', 'lset',
    'sadd', 'srem', 'scard', 'smembers', 'sismember', 'sscan',
    'zadd', 'zrem', 'zscore', 'zcard', 'zcount', 'zincrby', 'zrange', 'zrevrange', 'zrangebyscore', 'zrevrangebyscore', 'zrangebylex', 'zlexcount', 'zremrangebyscore', 'zremrangebyrank', 'zpopmin',
    'xadd', 'xrange', 'xrevrange', 'xlen', 'xtrim', 'xdel', 'xack', 'xreadgroup', 'xautoclaim', 'xpending', 'xgroup', 'xinfo',
  ],
} as const;

/**
 * Not needed, granted at will: `CLIENT LIST` (which shows every client of the server) lets Bull
 * Board show a queue's workers; refused, the board shows none and works on (`bb-reaper stats`
 * lists live workers from their heartbeats either way).
 */
export const ACL_OPTIONAL_COMMANDS = ['client|list'] as const;

/** Every command of {@link ACL_COMMANDS}, one list. */
export const ACL_COMMAND_LIST: readonly string[] = Object.values(ACL_COMMANDS).flat();

/**
 * The `ACL SETUSER` rules (after `on >password`) that limit a user to one deployment of
 * bb-reaper: its keys (`~<key prefix>:*`; on a cluster also every account's own tag,
 * `~{bb-reaper@*}:*`), no pub/sub channel, and {@link ACL_COMMAND_LIST}.
 */
export function aclRules(scope: KeyScope): string[] {
  const prefix = keyPrefix(scope);
  const patterns = [...new Set([prefix, accountKeyPrefix(prefix, '*')])].map((p) => `~${p}:*`);
  return ['resetkeys', ...patterns, 'resetchannels', '-@all', ...ACL_COMMAND_LIST.map((c) => `+${c}`)];
}
