import { describe, expect, it } from 'vitest';
import { getQueueStats } from '../../src/shared/queues.js';
import { spawnCli } from '../helpers/cli-process.js';
import { SIM_KEY, startPipeline, waitFor } from '../helpers/pipeline.js';

describe('bb-reaper worker shutdown', () => {
  it('first SIGTERM: stops fetching, returns unsent jobs to the queue, finishes in-flight closes, exits 0', async () => {
    const p = await startPipeline();
    const n = 200;
    const ids = p.sim.createSessions(n);
    await p.producer.closeSessions(ids);
    const env = { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url, LOG_LEVEL: 'info' };
    // 4 closes/s: most fetched jobs are still waiting for a limiter slot when the signal comes
    const w = spawnCli(['worker', '--rate', '4', '--concurrency', '2', '--no-ingress'], { env });
    await waitFor('a few closed', () => p.sim.stats().closes.released >= 3, 30_000);
    w.kill('SIGTERM');
    const { code } = await w.exited;
    expect(code).toBe(0);
    expect(w.stderr()).toMatch(/shutting down gracefully/);
    expect(w.stderr()).toMatch(/worker stopped/);
    const s = await getQueueStats(p.producer.queues);
    expect(s.active).toBe(0);
    expect(s.completed).toBe(p.sim.stats().closes.released);
    expect(s.completed + s.waiting + s.delayed).toBe(n);
    expect(s.completed).toBeLessThan(n);
    await w.close();
    await p.close();
  });

  it('a second signal forces exit while requests hang; nothing is lost', async () => {
    const p = await startPipeline({ sim: { faults: { hangRate: 1 } } });
    const ids = p.sim.createSessions(20);
    await p.producer.closeSessions(ids);
    const env = { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url, LOG_LEVEL: 'info' };
    const w = spawnCli(['worker', '--rate', '50', '--concurrency', '5', '--no-ingress', '--request-timeout', '60000', '--lock-duration', '2000'], { env });
    await waitFor('requests hanging', () => (p.sim.stats().requests.hangs ?? 0) >= 5, 30_000);
    w.kill('SIGTERM');
    await w.waitForOutput(/shutting down gracefully/);
    expect(w.child.exitCode).toBeNull(); // still waiting for the hung requests
    w.kill('SIGTERM');
    const { code } = await w.exited;
    expect(code).toBe(1);
    expect(w.stderr()).toMatch(/second signal: forcing exit/);
    await w.close();
    p.sim.setFaults({ hangRate: 0 });
    const again = spawnCli(['worker', '--rate', '50', '--concurrency', '5', '--no-ingress'], { env });
    await waitFor('all closed after restart', () => ids.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 60_000);
    again.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    await again.close();
    await p.close();
  }, 120_000);
});
