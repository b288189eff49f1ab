import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { acquireLeases, endLeases, renewLease } from '../../src/leases/lease-store.js';
import { createMetricsRecorder } from '../../src/metrics/index.js';
import { runCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';
import { parsePrometheusText } from '../helpers/prometheus-text.js';
import { SIM_KEY, startPipeline } from '../helpers/pipeline.js';
import { send, startUi } from '../helpers/ui-fixture.js';

describe('leases in the operator views', () => {
  it('/api/leases lists them, /api/stats and stats count them, /metrics has lease and minutes-saved series, Bull Board titles them with their deadline', async () => {
    const p = await startPipeline();
    const target = { queue: p.producer.queues.closeQueue, redis: p.producer.redis };
    const now = Date.now();
    await acquireLeases(target, [{ sessionId: 'ops-a', requestId: 'r-a' }, 'ops-b', 'ops-c'], 600_000, { now });
    await renewLease(target, 'ops-a', 300_000, now);
    await endLeases(target, 'cancel', ['ops-c']);
    await acquireLeases(target, ['ops-due'], 10_000, { now: now - 20_000 }); // past its deadline, no worker: due
    const metrics = createMetricsRecorder({ redis: p.producer.redis, prefix: p.prefix, flushIntervalMs: 0 });
    metrics.minutesSaved(12.25);
    metrics.minutesSaved(0.5);
    await metrics.close();
    const ui = await startUi({ prefix: p.prefix });

    const list = (await send(`${ui.url}/api/leases?limit=2`)).json<{ total: number; leases: Array<{ sessionId: string; renewals: number; requestId?: string; account: string }> }>();
    expect(list.total).toBe(3);
    expect(list.leases).toMatchObject([{ sessionId: 'ops-due' }, { sessionId: 'ops-a', renewals: 1, requestId: 'r-a', account: 'default' }]);
    expect((await send(`${ui.url}/api/leases?limit=0`)).status).toBe(400);

    const stats = (await send(`${ui.url}/api/stats`)).json<{ leases: Record<string, number>; minutesSaved: number }>();
    expect(stats.leases).toEqual({ active: 3, due: 1, created: 4, renewed: 1, fired: 0, released: 0, cancelled: 1 });
    expect(stats.minutesSaved).toBeCloseTo(12.75, 5);

    const families = parsePrometheusText((await send(`${ui.url}/metrics`)).body);
    const value = (name: string, labels: Record<string, string> = {}) =>
      families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('bb_reaper_leases_active', { account: 'default' })).toBe(3);
    expect(value('bb_reaper_leases_due', { account: 'default' })).toBe(1);
    expect(value('bb_reaper_lease_events_total', { account: 'default', event: 'renewed' })).toBe(1);
    expect(value('bb_reaper_lease_events_total', { account: 'default', event: 'cancelled' })).toBe(1);
    expect(value('bb_reaper_lease_events_total', { account: 'default', event: 'fired' })).toBe(0);
    expect(value('bb_reaper_browser_minutes_saved_total', { account: 'default' })).toBeCloseTo(12.75, 5);

    const board = (await send(`${ui.url}/ui/api/queues?activeQueue=close&status=delayed`)).json<{ queues: Array<{ name: string; jobs: Array<{ name: string }> }> }>();
    const names = board.queues.find((q) => q.name === 'close')?.jobs.map((j) => j.name) ?? [];
    expect(names).toContain(`lease · ops-a · closes at ${new Date(now + 300_000).toISOString()} unless renewed`);

    const cli = await runCli(['stats'], { env: { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix } });
    expect(cli.stdout).toMatch(/^leases {8}3 active \(1 past the deadline, waiting for a worker\); 0 fired, 0 released, 1 cancelled, 1 renewals, 4 created$/m);
    expect(cli.stdout).toMatch(/^saved {9}12\.8 browser minutes at most \(upper bound: from each close to the session's expiresAt\)$/m);
    await ui.server.close();
    await p.close();
  });

  it('a close answer carries expiresAt only for a session still running when released: that is what minutes saved count', async () => {
    const sim = track(await startSimulator({ apiKeys: [SIM_KEY] }), 'simulator');
    const instant = track(await startSimulator({ apiKeys: [SIM_KEY], releaseDelayMs: 0 }), 'simulator');
    const client = track(createBrowserbaseClient({ apiKey: SIM_KEY, baseUrl: sim.url }), 'client');
    const instantClient = track(createBrowserbaseClient({ apiKey: SIM_KEY, baseUrl: instant.url }), 'client');
    const [id] = sim.createSessions(1) as [string];
    const first = await client.closeSession(id);
    expect(first).toMatchObject({ outcome: 'closed', status: 'RUNNING', expiresAt: sim.getSession(id)?.expiresAt });
    await new Promise((r) => setTimeout(r, 200)); // the simulator ends it 100 ms after the release
    const again = await client.closeSession(id);
    expect(again.expiresAt).toBeUndefined();
    expect((await client.closeSession('0b4f2c9e-1a3d-4f6b-9c2e-7d8a5b3c1e0f')).expiresAt).toBeUndefined();
    // a server that ends the session at the release still counts it: it ran until this close
    const [now] = instant.createSessions(1) as [string];
    expect(await instantClient.closeSession(now)).toMatchObject({ status: 'COMPLETED', expiresAt: expect.any(String) });
    await client.close();
    await instantClient.close();
    await sim.close();
    await instant.close();
  });
});
