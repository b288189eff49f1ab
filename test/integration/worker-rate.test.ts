import { describe, expect, it } from 'vitest';
import { getQueueStats } from '../../src/shared/queues.js';
import { spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { testRedisUrl } from '../helpers/context.js';
import { SIM_KEY, startPipeline, waitFor } from '../helpers/pipeline.js';

/** Starts `n` real `bb-reaper worker` processes against the fixture. */
function startWorkers(n: number, args: { redisUrl: string; prefix: string; simUrl: string; rate: number; concurrency: number }): CliProcess[] {
  return Array.from({ length: n }, () =>
    spawnCli(['worker', '--rate', String(args.rate), '--concurrency', String(args.concurrency), '--no-ingress'], {
      env: { REDIS_URL: args.redisUrl, BB_REAPER_PREFIX: args.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: args.simUrl, LOG_LEVEL: 'warn' },
    }),
  );
}

async function stopAll(workers: CliProcess[]) {
  for (const w of workers) w.kill('SIGTERM');
  const codes = await Promise.all(workers.map((w) => w.exited));
  for (const w of workers) await w.close();
  return codes;
}

describe('global rate limit across worker processes', () => {
  for (const processes of [1, 3]) {
    it(`holds the configured rate with ${processes} worker process(es)`, async () => {
      const R = 150;
      const burst = 25; // tolerates ~170 ms of scheduling jitter on a busy 2-core machine
      const p = await startPipeline({ sim: { rate: R, burst } });
      const n = R * 8;
      const ids = p.sim.createSessions(n);
      await p.producer.closeSessions(ids);
      const workers = startWorkers(processes, { redisUrl: testRedisUrl(), prefix: p.prefix, simUrl: p.sim.url, rate: R, concurrency: 20 });
      await waitFor('every session completed', () => (p.sim.stats().sessions.COMPLETED ?? 0) === n, 120_000, 100);
      await waitFor('every job completed', async () => (await getQueueStats(p.producer.queues)).completed === n, 30_000);
      const codes = await stopAll(workers);
      expect(codes.map((c) => c.code)).toEqual(workers.map(() => 0));
      const s = p.sim.stats();
      console.log(`rate ${R}/s, ${processes} process(es): maxRequestsInAnySecond=${s.maxRequestsInAnySecond}, 429s=${s.requests.byStatus['429'] ?? 0}, maxInFlight=${s.maxInFlight}`);
      expect(s.closes.released).toBe(n);
      expect(s.closes.releasedMoreThanOnce).toBe(0);
      expect(s.requests.byStatus['429'] ?? 0).toBeLessThanOrEqual(5);
      expect(s.maxRequestsInAnySecond).toBeLessThanOrEqual(R + burst);
      expect(s.maxInFlight).toBeLessThanOrEqual(20);
      await p.producer.close();
      await p.client.close();
      await p.sim.close();
    }, 180_000);
  }
});
