import { describe, expect, it } from 'vitest';
import { keys } from '../../src/shared/names.js';
import { createRedis } from '../../src/shared/redis.js';
import { runCli } from '../helpers/cli-process.js';
import { testRedisUrl, trackRedis, uniquePrefix } from '../helpers/context.js';
import { lettersInEveryState } from '../helpers/dead-letter-states.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { send, startUi } from '../helpers/ui-fixture.js';

interface Worker {
  id: string;
  alive: boolean;
}
const liveness = (workers: Worker[]) => Object.fromEntries(workers.map((w) => [w.id, w.alive]));

describe('stats and the UI read the same Redis state the same way', () => {
  it('stats --json and /api/stats agree on worker liveness (a heartbeat 16 s old included) and on the dead-letter count (letters in every DLQ state)', async () => {
    const prefix = uniquePrefix('agree');
    // Letters first: the UI's own DLQ processor would park them as they arrive (the DLQ is paused after).
    const letters = await lettersInEveryState(testRedisUrl(), prefix, 2);
    const ui = await startUi({ prefix });
    const redis = trackRedis(createRedis(ui.config.redisUrl, { role: 'producer' }));
    // Written directly, as workers on other hosts would: fresh, 16 s old (stale for the old CLI's
    // 15 s window, alive for the UI's 30 s one), and long gone. Written again before each reader, so
    // on a slow machine "16 s old" never drifts past the 30 s rule while the test runs.
    const beat = () => {
      const now = Date.now();
      return redis.hset(keys(prefix).workerHeartbeat, 'fresh-host:1', now - 1_000, 'slow-host:2', now - 16_000, 'gone-host:3', now - 120_000);
    };
    await beat();

    const cli = await runCli(['stats', '--json'], { env: { REDIS_URL: ui.config.redisUrl, BB_REAPER_PREFIX: prefix } });
    expect(cli.code, cli.stderr).toBe(0);
    const stats = JSON.parse(cli.stdout) as { queue: { dead: number }; workers: Worker[] };
    await beat();
    const api = (await send(`${ui.url}/api/stats`)).json<{ queues: { dead: number }; workers: Worker[] }>();

    const expected = { 'fresh-host:1': true, 'slow-host:2': true, 'gone-host:3': false };
    expect(liveness(stats.workers)).toEqual(expected);
    expect(liveness(api.workers)).toEqual(expected);
    expect(stats.queue.dead).toBe(10);
    expect(api.queues.dead).toBe(10);

    // The other readers agree too: the DLQ listings, /metrics and /readyz.
    const dlq = (await send(`${ui.url}/api/dlq?start=0&end=999`)).json<{ total: number; items: unknown[] }>();
    expect(dlq).toMatchObject({ total: 10 });
    expect(dlq.items).toHaveLength(10);
    const listed = await runCli(['dlq', 'list', '--json', '--limit', '1000'], { env: { REDIS_URL: ui.config.redisUrl, BB_REAPER_PREFIX: prefix } });
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(10);
    await beat();
    const metrics = parsePrometheusText((await send(`${ui.url}/metrics`)).body);
    expect(sampleValue(metrics, 'bb_reaper_workers')).toBe(2);
    expect(sampleValue(metrics, 'bb_reaper_queue_jobs', { account: 'default', state: 'dead' })).toBe(10);
    await beat();
    expect((await send(`${ui.url}/readyz`)).json()).toEqual({ status: 'ready', workers: 2 });

    await letters.close();
    await redis.quit();
    await ui.server.close();
  });
});
