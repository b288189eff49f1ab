import type { Redis } from '../../src/shared/redis.js';
import { readWorkerHeartbeats } from '../../src/worker/index.js';
import { benchScript, spawnCli, spawnNode, type Child } from './child.js';
import { waitUntil } from './report.js';
import { SIM_KEY } from './sim-process.js';

export interface WorkerTarget {
  redisUrl: string;
  prefix: string;
  simUrl: string;
}

const envOf = ({ redisUrl, prefix, simUrl }: WorkerTarget) => ({
  REDIS_URL: redisUrl,
  BB_REAPER_PREFIX: prefix,
  BROWSERBASE_API_KEY: SIM_KEY,
  BROWSERBASE_BASE_URL: simUrl,
  LOG_LEVEL: 'warn',
});

/**
 * Starts `n` real `bb-reaper worker` processes and waits until each has written its heartbeat
 * (the worker is then fetching jobs).
 */
export async function startCliWorkers(n: number, target: WorkerTarget & { redis: Redis; rate: number; concurrency: number; extraArgs?: string[] }): Promise<Child[]> {
  const before = (await readWorkerHeartbeats(target.redis, target.prefix)).length;
  const args = ['worker', '--rate', String(target.rate), '--concurrency', String(target.concurrency), '--no-ingress', ...(target.extraArgs ?? [])];
  const children = Array.from({ length: n }, () => spawnCli(args, envOf(target)));
  await waitUntil(`${n} worker heartbeat(s)`, async () => {
    for (const c of children) if (c.output().match(/"level":(50|60)/)) throw new Error(`worker failed: ${c.output()}`);
    return (await readWorkerHeartbeats(target.redis, target.prefix)).length >= before + n;
  }, 30_000, 25);
  return children;
}

/** The baseline: a plain BullMQ worker calling undici directly (`bench/raw-worker.ts`). */
export async function startRawWorker(target: WorkerTarget & { concurrency: number }): Promise<Child> {
  const child = spawnNode(benchScript('raw-worker.js'), [], { ...envOf(target), RAW_CONCURRENCY: String(target.concurrency) });
  await child.waitForOutput(/^ready$/m, 30_000);
  return child;
}

export async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
}
