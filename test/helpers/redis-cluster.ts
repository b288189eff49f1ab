import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';

const run = promisify(execFile);

/** A private Redis Cluster of `redis-server --cluster-enabled yes` children (masters only). */
export interface RedisClusterHandle {
  /** The seed list bb-reaper takes in `REDIS_URL` with `BB_REAPER_REDIS_CLUSTER=true`: every node, comma-separated. */
  url: string;
  nodes: RedisServerHandle[];
  /** Sends one command to every node (e.g. `ACL SETUSER`: ACLs are per node). */
  onEveryNode(...args: string[]): Promise<unknown[]>;
  /** Stops every node and deletes their data. */
  close(): Promise<void>;
}

/**
 * Starts `count` (default 3) cluster-enabled `redis-server`s on free loopback ports, joins them
 * with `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes` and waits until every
 * node reports `cluster_state:ok` and knows every slot's owner. No replicas: failover and
 * resharding are not exercised.
 */
export async function startRedisCluster({ count = 3, extraArgs = [] }: { count?: number; extraArgs?: string[] } = {}): Promise<RedisClusterHandle> {
  const nodes: RedisServerHandle[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    for (let i = 0; i < count; i++) {
      // cluster-config-file is relative to --dir: each node has its own temporary directory.
      nodes.push(await startRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', ...extraArgs] }));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await waitForClusterOk(nodes);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url: nodes.map((n) => n.url).join(','),
    nodes,
    async onEveryNode(...args) {
      return Promise.all(
        nodes.map(async (n) => {
          const r = new Redis(n.url, { maxRetriesPerRequest: 1 });
          try {
            return await r.call(args[0] as string, ...args.slice(1));
          } finally {
            r.disconnect();
          }
        }),
      );
    },
    close,
  };
}

/** Polls every node until it reports `cluster_state:ok` (slots assigned and gossip settled), up to 30 s. */
async function waitForClusterOk(nodes: RedisServerHandle[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  const clients = nodes.map((n) => new Redis(n.url, { maxRetriesPerRequest: 1 }));
  try {
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>));
      if (infos.every((i) => /cluster_state:ok/.test(i) && new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(i))) return;
      if (Date.now() > deadline) throw new Error(`the test cluster did not settle: ${infos.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}
