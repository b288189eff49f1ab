import { duplicateRedis, type Redis } from '../shared/redis.js';
import { DEFAULT_PREFIX, keys } from '../shared/names.js';
import { parseResultFields, type ResultRecord } from './results-stream.js';

export interface FollowResultsOptions {
  /** A connection to duplicate: following blocks, so it runs on its own connection, closed when the loop ends. */
  connection: Redis;
  /** Key prefix. Default `bb-reaper`. */
  prefix?: string;
  /**
   * Where to start: `$` (default) yields only outcomes written after the call, `0` everything
   * still kept, or an entry id to resume after it.
   */
  from?: string;
  /** Longest wait (ms) of one blocking read; bounds how late an abort is noticed. Default 1000. */
  blockMs?: number;
  /** Most entries per read. Default 100. */
  count?: number;
  /** Ends the iteration (promptly: the blocked read is cut). */
  signal?: AbortSignal;
}

/**
 * Yields outcomes from `<prefix>:results` as workers write them, in order, until `signal` aborts
 * or the loop breaks. Every consumer sees every entry (plain XREAD, no consumer group).
 *
 * ```ts
 * for await (const r of followResults({ connection, signal })) if (r.outcome === 'dead_lettered') alert(r);
 * ```
 */
export async function* followResults({ connection, prefix = DEFAULT_PREFIX, from = '$', blockMs = 1000, count = 100, signal }: FollowResultsOptions): AsyncGenerator<ResultRecord> {
  const stream = keys(prefix).results;
  // Named after the prefix, so CLIENT LIST tells followers of different prefixes apart.
  const reader = duplicateRedis(connection, `bb-reaper:results-follow:${prefix}`);
  reader.on('error', () => {});
  const stop = () => reader.disconnect();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    // `$` would mean "after the newest" anew on every read and skip entries written in between,
    // so it is resolved to a fixed id by the first read.
    let last = from;
    while (!signal?.aborted) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        if (last === '$') {
          const newest = await reader.xrevrange(stream, '+', '-', 'COUNT', 1);
          last = newest[0]?.[0] ?? '0-0';
        }
        reply = (await reader.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, last)) as typeof reply;
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      for (const [id, pairs] of reply?.[0]?.[1] ?? []) {
        last = id;
        yield parseResultFields(id, pairs);
        if (signal?.aborted) return;
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    reader.disconnect();
  }
}
