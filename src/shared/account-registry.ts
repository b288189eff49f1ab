/**
 * The names of the accounts closes were ever enqueued for, in `<prefix>:accounts` (a set of names:
 * never a key). Producers add a name when they first enqueue for a non-default account; workers
 * read it to find the queues of accounts that no worker serves (their closes dead-letter as
 * `UNKNOWN_ACCOUNT` rather than wait unseen), and the views list it beside the configured accounts.
 */
import type { Redis } from './redis.js';
import { DEFAULT_ACCOUNT, keys } from './names.js';

const noted = new WeakMap<object, Set<string>>();

/** Adds `account` to the registry, once per connection and account (later calls cost nothing). */
export async function noteAccountUsed(redis: Redis, prefix: string, account: string): Promise<void> {
  if (account === DEFAULT_ACCOUNT) return;
  let seen = noted.get(redis);
  if (!seen) noted.set(redis, (seen = new Set()));
  const id = `${prefix}\u0000${account}`;
  if (seen.has(id)) return;
  await redis.sadd(keys(prefix).accounts, account);
  seen.add(id);
}

/** Every account closes were enqueued for, `default` included, sorted. */
export async function readKnownAccounts(redis: Redis, prefix: string): Promise<string[]> {
  const names = await redis.smembers(keys(prefix).accounts);
  return [...new Set([DEFAULT_ACCOUNT, ...names])].sort();
}
