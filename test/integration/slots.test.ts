import { afterEach, describe, expect, it } from 'vitest';
import { BrowserbaseError, createBrowserbaseClient } from '../../src/browserbase/index.js';
import { resolveConfig } from '../../src/config/index.js';
import { readSlots } from '../../src/ops/slots.js';
import { createUiServer } from '../../src/ui/index.js';
import { SLOTS_UNAVAILABLE_MESSAGE } from '../../src/ui/ops-routes.js';
import { testRedisUrl, track } from '../helpers/context.js';
import { SIM_KEY, startPipeline, testLogger, type PipelineFixture, seedSessions } from '../helpers/pipeline.js';
import { send } from '../helpers/ui-fixture.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

async function pipeline(concurrencyLimit: number): Promise<PipelineFixture> {
  const p = await startPipeline({ sim: { concurrencyLimit } });
  cleanups.push(() => p.close());
  return p;
}

const seed = seedSessions;

describe('slots', () => {
  it("counts RUNNING and PENDING sessions against the project's concurrency, lists the oldest first with age and metadata, and counts the closes still queued", async () => {
    const p = await pipeline(6);
    const [old1, old2] = await seed(p, { count: 2, startedAgoSeconds: 7200, userMetadata: { owner: 'ci', job: 7 } });
    const [pending] = await seed(p, { count: 1, startedAgoSeconds: 600, status: 'PENDING' });
    const [fresh] = await seed(p, { count: 1 });
    // No worker runs: these closes stay queued (the ids need not exist).
    await p.producer.closeSessions(['queued-1', 'queued-2', 'queued-3']);

    const r = await readSlots({ client: p.client, queues: p.producer.queues, limit: 3 });
    expect(r.project).toEqual({ id: 'sim-project', concurrency: 6 });
    expect(r.active).toEqual({ running: 3, pending: 1 });
    expect(r.free).toBe(2);
    expect(r.pendingCloses).toBe(3);
    expect(r.oldest.map((s) => s.id).slice(0, 2).sort()).toEqual([old1, old2].sort());
    expect(r.oldest).toHaveLength(3);
    expect(r.oldest[2]).toMatchObject({ id: pending, status: 'PENDING' });
    expect(r.oldest[0]).toMatchObject({ status: 'RUNNING', userMetadata: { owner: 'ci', job: 7 } });
    expect(r.oldest[0]?.ageMs).toBeGreaterThanOrEqual(7200_000);
    expect(r.oldest[2]?.ageMs).toBeGreaterThanOrEqual(600_000);
    expect(r.oldest[2]?.ageMs).toBeLessThan(7200_000);
    expect(r.oldest.map((s) => s.id)).not.toContain(fresh);
  });

  it('free slots never go negative when more sessions run than the concurrency allows', async () => {
    const p = await pipeline(2);
    await seed(p, { count: 5 });
    const r = await readSlots({ client: p.client, queues: p.producer.queues });
    expect(r.active).toEqual({ running: 5, pending: 0 });
    expect(r.free).toBe(0);
    expect(r.pendingCloses).toBe(0);
  });

  it('reads the configured project by id, and an unknown project id is the API error it is, not an empty report', async () => {
    const p = await pipeline(4);
    const r = await readSlots({ client: p.client, queues: p.producer.queues, projectId: 'sim-project' });
    expect(r.project).toEqual({ id: 'sim-project', concurrency: 4 });
    const err = await readSlots({ client: p.client, queues: p.producer.queues, projectId: 'someone-elses' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrowserbaseError);
    expect((err as BrowserbaseError).statusCode).toBe(404);
  });

  it('GET /api/slots answers 503 naming the missing API key in a UI without a client, and the report with one', async () => {
    const p = await pipeline(3);
    await seed(p, { count: 2, startedAgoSeconds: 120, userMetadata: { owner: 'ops' } });
    const config = resolveConfig({ env: { REDIS_URL: testRedisUrl(), BB_REAPER_PREFIX: p.prefix, BB_REAPER_UI_PORT: '0' } });

    const bare = track(createUiServer({ config, logger: testLogger() }), 'ui server');
    cleanups.push(() => bare.close());
    const none = await send(`${await bare.listen()}/api/slots`);
    expect(none.status).toBe(503);
    expect(none.json()).toEqual({ error: 'SLOTS_UNAVAILABLE', message: SLOTS_UNAVAILABLE_MESSAGE });
    expect(SLOTS_UNAVAILABLE_MESSAGE).toMatch(/API key/);

    const client = track(createBrowserbaseClient({ apiKey: SIM_KEY, baseUrl: p.sim.url }), 'client');
    cleanups.push(() => client.close());
    const withKey = track(createUiServer({ config, logger: testLogger(), slots: { client } }), 'ui server');
    cleanups.push(() => withKey.close());
    const url = await withKey.listen();
    const ok = await send(`${url}/api/slots?limit=1`);
    expect(ok.status).toBe(200);
    const body = ok.json<Record<string, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(body).toMatchObject({ project: { id: 'sim-project', concurrency: 3 }, active: { running: 2, pending: 0 }, free: 1, pendingCloses: 0 });
    expect(body.oldest).toEqual([expect.objectContaining({ status: 'RUNNING', userMetadata: { owner: 'ops' } })]);
    expect(ok.body).not.toContain(SIM_KEY);
    const bad = await send(`${url}/api/slots?limit=0`);
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'INVALID_REQUEST', message: expect.stringMatching(/`limit`/) });

    const refused = track(createBrowserbaseClient({ apiKey: 'revoked-key', baseUrl: p.sim.url }), 'client');
    cleanups.push(() => refused.close());
    const badKey = track(createUiServer({ config, logger: testLogger(), slots: { client: refused } }), 'ui server');
    cleanups.push(() => badKey.close());
    const rejected = await send(`${await badKey.listen()}/api/slots`);
    expect(rejected.status).toBe(502);
    expect(rejected.json()).toMatchObject({ error: 'REJECTED', message: expect.any(String) });
    expect(rejected.body).not.toContain('revoked-key');
  });
});
