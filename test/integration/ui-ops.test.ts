import { describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { createRedis } from '../../src/shared/redis.js';
import { closeJobId, keys } from '../../src/shared/names.js';
import { startHeartbeat } from '../../src/worker/index.js';
import { track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startPipeline, waitFor, type PipelineFixture } from '../helpers/pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { send, startUi } from '../helpers/ui-fixture.js';

const SCRIPT = { 'x-requested-by': 'test' };

async function closePipeline(pipe: PipelineFixture): Promise<void> {
  await pipe.producer.close();
  await pipe.client.close();
  await pipe.sim.close();
}

/** Closes `n` running sessions with a wrong API key: each is REJECTED (401) and parked in the DLQ. */
async function deadLetterSessions(pipe: PipelineFixture, n: number): Promise<string[]> {
  const ids = pipe.sim.createSessions(n);
  const badClient = track(createBrowserbaseClient({ apiKey: 'wrong-key', baseUrl: pipe.sim.url }), 'client');
  const worker = await pipe.startWorker({ client: badClient });
  await pipe.producer.closeSessions(ids);
  await waitFor(`${n} parked dead letters`, async () => (await pipe.producer.queues.deadLetterQueue.getJobCounts('failed')).failed === n);
  await worker.close();
  await badClient.close();
  return ids;
}

interface BoardJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
  failedReason?: string;
  timestamp: number;
}
interface BoardQueue {
  name: string;
  readOnlyMode: boolean;
  allowRetries: boolean;
  description?: string;
  jobs: BoardJob[];
}

describe('ops API', () => {
  it('lists dead letters with their reason, re-drives chosen ones with fresh attempts, and purges the rest', async () => {
    const pipe = await startPipeline();
    const ids = await deadLetterSessions(pipe, 3);
    const ui = await startUi({ prefix: pipe.prefix });

    const list = (await send(`${ui.url}/api/dlq`)).json<{ total: number; items: Array<{ id: string; state: string; failedReason: string; data: Record<string, unknown> }> }>();
    expect(list.total).toBe(3);
    expect(list.items.map((i) => i.data.sessionId).sort()).toEqual([...ids].sort());
    for (const item of list.items) {
      expect(item.state).toBe('failed');
      expect(item.data).toMatchObject({ errorCode: 'REJECTED', httpStatus: 401, attemptsMade: 1 });
      expect(item.failedReason).toMatch(/^REJECTED \(HTTP 401\): .+ — session \S+, 1 attempt/);
    }
    const page = (await send(`${ui.url}/api/dlq?start=1&end=1`)).json<{ items: unknown[] }>();
    expect(page.items).toHaveLength(1);

    const target = closeJobId(ids[0]!);
    const redrive = await send(`${ui.url}/api/dlq/redrive`, { method: 'POST', headers: SCRIPT, body: { ids: [target, 'close-unknown'] } });
    expect(redrive.status).toBe(200);
    expect(redrive.json()).toEqual({ redriven: [target], missing: ['close-unknown'] });
    const requeued = await pipe.producer.queues.closeQueue.getJob(target);
    expect(requeued?.data).toMatchObject({ sessionId: ids[0], source: 'redrive', redriveCount: 1 });
    expect(requeued?.data.history).toHaveLength(1);
    expect((await send(`${ui.url}/api/dlq`)).json<{ total: number }>().total).toBe(2);

    // With the right key the re-driven close completes; the others stay dead.
    const worker = await pipe.startWorker();
    await waitFor('the re-driven close', () => pipe.sim.stats().closes.released === 1);
    await worker.close();

    const purge = await send(`${ui.url}/api/dlq/purge`, { method: 'POST', headers: SCRIPT });
    expect(purge.json()).toEqual({ purged: 2 });
    expect((await send(`${ui.url}/api/dlq`)).json<{ total: number; items: unknown[] }>()).toMatchObject({ total: 0, items: [] });
    const stats = (await send(`${ui.url}/api/stats`)).json<{ queues: Record<string, number> }>();
    expect(stats.queues).toMatchObject({ dead: 0, waiting: 0, active: 0, completed: 1 });
    await ui.server.close();
    await closePipeline(pipe);
  });

  it('answers bad input with 400 naming what is wrong', async () => {
    const ui = await startUi();
    const get = async (q: string) => send(`${ui.url}/api/dlq${q}`);
    const post = async (body: unknown) => send(`${ui.url}/api/dlq/redrive`, { method: 'POST', headers: SCRIPT, body });
    const cases: Array<[Promise<Awaited<ReturnType<typeof send>>>, RegExp]> = [
      [get('?start=-1'), /`start`/],
      [get('?start=abc'), /`start`/],
      [get('?start=5&end=2'), /`start` ≤ `end`/],
      [get('?start=0&end=5000'), /at most 1000/],
      [post({}), /exactly one of `ids`.*`"all": true`/],
      [post({ ids: [] }), /at least one job id/],
      [post({ ids: [7] }), /ids\.0: .*job id strings/],
      [post({ ids: ['a'], all: true }), /exactly one/],
      [post({ all: false }), /exactly one/],
      [post({ id: 'a' }), /unknown field `id`: expected `ids` or `all`/],
      [post([1, 2]), /JSON object/],
      [post('{not json'), /JSON/i],
    ];
    for (const [answer, message] of cases) {
      const r = await answer;
      expect(r.status, r.body).toBe(400);
      expect(r.json<{ message: string }>().message, r.body).toMatch(message);
    }
    await ui.server.close();
  });
});

describe('Bull Board', () => {
  it('shows each dead letter by session and error without expanding JSON, and Retry re-drives it', async () => {
    const pipe = await startPipeline();
    const ids = await deadLetterSessions(pipe, 2);
    const ui = await startUi({ prefix: pipe.prefix });
    const queuesApi = `${ui.url}/ui/api/queues?activeQueue=dead-letter&status=failed&page=1&jobsPerPage=10`;
    const { queues } = (await send(queuesApi)).json<{ queues: BoardQueue[] }>();
    const close = queues.find((q) => q.name === 'close')!;
    const dead = queues.find((q) => q.name === 'dead-letter')!;
    expect(close.readOnlyMode).toBe(true);
    expect(dead).toMatchObject({ readOnlyMode: false, allowRetries: true });
    expect(queues.find((q) => q.name === 'sweep')).toMatchObject({ readOnlyMode: true });
    expect(dead.description).toMatch(/Retry/);
    expect(dead.jobs).toHaveLength(2);
    for (const job of dead.jobs) {
      const sessionId = ids.find((id) => job.id === closeJobId(id));
      expect(job.name).toBe(`REJECTED 401 · ${sessionId}`);
      expect(job.failedReason).toMatch(/^REJECTED \(HTTP 401\)/);
      expect(job.data).toMatchObject({ session: sessionId, error: 'REJECTED (HTTP 401)', attempts: 1, closeJobId: job.id });
      expect(job.data.enqueued).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(job.data.deadLettered).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(job.data.history).toEqual([expect.stringMatching(/^#1 \d{4}-\S+ REJECTED HTTP 401/)]);
      const logs = (await send(`${ui.url}/ui/api/queues/dead-letter/${encodeURIComponent(job.id)}/logs`)).json<string[]>();
      expect(logs.join('\n')).toMatch(/attempt 1 at .*REJECTED HTTP 401/);
    }

    // Nothing in the UI may lose a close: the close queue is read-only, the DLQ allows only re-drive, clean and pause.
    const refused: Array<[string, string, number]> = [
      ['PUT', '/ui/api/queues/close/clean/completed', 403],
      ['PUT', '/ui/api/queues/close/empty', 403],
      ['PUT', '/ui/api/queues/close/promote', 403],
      ['PUT', '/ui/api/queues/sweep/empty', 403],
      ['PUT', '/ui/api/queues/dead-letter/obliterate', 403],
      ['PUT', '/ui/api/queues/dead-letter/empty', 403],
      ['PUT', '/ui/api/queues/dead-letter/retry/completed', 403],
      ['PATCH', `/ui/api/queues/dead-letter/${encodeURIComponent(dead.jobs[0]!.id)}/update-data`, 403],
      ['POST', '/ui/api/queues/dead-letter/add', 403],
    ];
    for (const [method, path, status] of refused) {
      const r = await send(`${ui.url}${path}`, { method, headers: SCRIPT, body: method === 'PUT' ? undefined : { name: 'x', data: {} } });
      expect(r.status, `${method} ${path}: ${r.body}`).toBe(status);
    }
    expect(await pipe.producer.queues.deadLetterQueue.getJobCounts('failed')).toEqual({ failed: 2 });

    // Retry on one letter: the UI's DLQ processor puts the close back and removes the letter.
    const first = closeJobId(ids[0]!);
    expect((await send(`${ui.url}/ui/api/queues/dead-letter/${encodeURIComponent(first)}/retry`, { method: 'PUT', headers: SCRIPT })).status).toBe(204);
    await waitFor('the re-driven close job', async () => (await pipe.producer.queues.closeQueue.getJob(first))?.data.source === 'redrive');
    await waitFor('the letter to leave the DLQ', async () => (await pipe.producer.queues.deadLetterQueue.getJob(first)) === undefined);
    // Retry all: the rest follows.
    expect((await send(`${ui.url}/ui/api/queues/dead-letter/retry/failed`, { method: 'PUT', headers: SCRIPT })).status).toBe(200);
    await waitFor('an empty DLQ', async () => Object.values(await pipe.producer.queues.deadLetterQueue.getJobCounts()).every((n) => n === 0));
    const worker = await pipe.startWorker();
    await waitFor('both closes', () => pipe.sim.stats().closes.released === 2);
    await worker.close();
    await ui.server.close();
    await closePipeline(pipe);
  });
});

describe('/readyz', () => {
  it('answers 503 with the reason until a worker heartbeat is fresh, then 200', async () => {
    const ui = await startUi();
    const redis = trackRedis(createRedis(ui.config.redisUrl));
    const r1 = await send(`${ui.url}/readyz`);
    expect(r1.status).toBe(503);
    expect(r1.json()).toEqual({ status: 'unavailable', reason: 'no worker heartbeat within 30 s: none ever' });

    await redis.hset(keys(ui.prefix).workerHeartbeat, 'old-host:1', Date.now() - 90_000);
    const r2 = await send(`${ui.url}/readyz`);
    expect(r2.status).toBe(503);
    expect(r2.json<{ reason: string }>().reason).toMatch(/the last one (89|90|91) s ago \(old-host:1\)/);

    const beat = startHeartbeat(redis, ui.prefix, 'test-host:2');
    await waitFor('a heartbeat', async () => (await redis.hexists(keys(ui.prefix).workerHeartbeat, 'test-host:2')) === 1);
    const r3 = await send(`${ui.url}/readyz`);
    expect(r3.status).toBe(200);
    expect(r3.json()).toEqual({ status: 'ready', workers: 1 });
    expect((await send(`${ui.url}/healthz`)).json()).toEqual({ status: 'ok' });

    await beat.stop();
    await redis.del(keys(ui.prefix).workerHeartbeat);
    await redis.quit();
    await ui.server.close();
  });

  it('answers 503 when Redis does not answer, while /healthz stays 200', async () => {
    const server = track(await startRedisServer(), 'redis-server');
    const ui = await startUi({ redisUrl: server.url, prefix: uniquePrefix('ui-down') });
    const admin = trackRedis(createRedis(server.url));
    // Redis stops answering every client for 4 s (connections stay up).
    await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
    const r = await send(`${ui.url}/readyz`);
    expect(r.status).toBe(503);
    expect(r.json()).toEqual({ status: 'unavailable', reason: 'Redis unreachable: Redis did not answer within 2000 ms' });
    expect((await send(`${ui.url}/healthz`)).status).toBe(200);
    await waitFor('Redis to answer again', async () => !/Redis unreachable/.test((await send(`${ui.url}/readyz`)).body), 30_000, 200);
    expect((await send(`${ui.url}/readyz`)).json<{ reason: string }>().reason).toMatch(/^no worker heartbeat/);
    await admin.quit();
    await ui.server.close();
    await server.close();
  });
});
