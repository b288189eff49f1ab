import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { INGRESS_GROUP, startIngressBridge } from '../../src/ingress/index.js';
import { readResults } from '../../src/results/results-stream.js';
import { closeJobId, keys } from '../../src/shared/names.js';
import { createQueues } from '../../src/shared/queues.js';
import { startWorkerService } from '../../src/worker/service.js';
import { spawnCli } from '../helpers/cli-process.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startPipeline, testLogger, waitFor } from '../helpers/pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';

const run = promisify(execFile);
const redisCli = async (url: string, ...args: string[]) => (await run('/usr/bin/redis-cli', ['-u', url, ...args], { encoding: 'utf8' })).stdout.split('\n').filter((l) => l !== '');

/** Pending entries per consumer of the ingress group. */
async function pendingByConsumer(redis: Redis, stream: string): Promise<Record<string, number>> {
  const summary = await redis.xpending(stream, INGRESS_GROUP).catch((err: Error) => {
    if (err.message.startsWith('NOGROUP')) return [0, null, null, null]; // not created yet
    throw err;
  });
  const [, , , consumers] = summary as [number, string | null, string | null, Array<[string, string]> | null];
  return Object.fromEntries((consumers ?? []).map(([name, n]) => [name, Number(n)]));
}

describe('bb-reaper ingress (the built CLI as a child process)', () => {
  it('moves entries into the queue, and on SIGTERM finishes, leaves the group and exits 0', async () => {
    const url = testRedisUrl();
    const prefix = uniquePrefix('ingress-cli');
    const k = keys(prefix);
    const redis = trackRedis(new Redis(url));
    const queues = track(createQueues({ connection: redis, prefix }), 'queues');
    const cli = spawnCli(['ingress', '--redis-url', url, '--prefix', prefix, '--block-ms', '500'], { env: { LOG_LEVEL: 'info' } });
    await cli.waitForOutput(/ingress bridge reading/);
    await redisCli(url, 'XADD', k.ingress, '*', 'session_id', 'cli-1', 'request_id', 'r-cli');
    await redisCli(url, 'XADD', k.ingress, '*', 'session_ids', '["cli-2","cli-3"]');
    await waitFor('3 jobs', async () => (await queues.closeQueue.getJobCountByTypes('waiting')) === 3);
    expect((await queues.closeQueue.getJob(closeJobId('cli-1')))?.data).toMatchObject({ requestId: 'r-cli', source: 'ingress' });
    cli.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.stderr()).toMatch(/stopping the ingress bridge/);
    expect(cli.stderr()).toMatch(/"entries":2,"accepted":3,.*"msg":"ingress bridge stopped"/);
    expect(await redis.xinfo('CONSUMERS', k.ingress, INGRESS_GROUP)).toEqual([]);
    await cli.close();
    await queues.closeQueue.obliterate({ force: true });
    await queues.close();
    await redis.del(k.ingress);
    await redis.quit();
  });

  it('with Redis gone, stops within --shutdown-timeout on one signal, and exits at once on a second', async () => {
    const server = track(await startRedisServer(), 'redis-server');
    const bounded = spawnCli(['ingress', '--redis-url', server.url, '--prefix', uniquePrefix('ingress-cli'), '--shutdown-timeout', '200'], { env: { LOG_LEVEL: 'info' } });
    await bounded.waitForOutput(/ingress bridge reading/);
    const patient = spawnCli(['ingress', '--redis-url', server.url, '--prefix', uniquePrefix('ingress-cli'), '--shutdown-timeout', '600000'], { env: { LOG_LEVEL: 'info' } });
    await patient.waitForOutput(/ingress bridge reading/);
    await server.stop();

    bounded.kill('SIGTERM');
    expect((await bounded.exited).code).toBe(0);
    expect(bounded.stderr()).toMatch(/did not stop cleanly in time/);

    patient.kill('SIGTERM');
    await patient.waitForOutput(/stopping the ingress bridge/);
    patient.kill('SIGTERM');
    expect((await patient.exited).code).toBe(1);
    expect(patient.stderr()).toMatch(/second signal: exiting now/);

    await bounded.close();
    await patient.close();
    await server.close();
  });

  it('reports bad flags naming each, with exit code 2, before touching Redis', async () => {
    const cli = spawnCli(['ingress', '--redis-url', 'redis://127.0.0.1:1', '--claim-idle-ms', 'soon', '--batch-size', '0']);
    const { code } = await cli.exited;
    expect(code).toBe(2);
    expect(cli.stderr()).toMatch(/`--claim-idle-ms` to be an integer from 1 to 86400000, got `soon`.*`--batch-size` to be an integer from 1 to 10000, got `0`/);
    await cli.close();
  });

  it('a bridge process SIGKILLed while holding entries it read: a live bridge claims them and every session is closed once', async () => {
    // A private server, so an ACL user can be added: the doomed bridge may read and acknowledge the
    // ingress stream but not write the queue, so it holds what it read until it is killed.
    const server = track(await startRedisServer(), 'redis-server');
    const admin = trackRedis(new Redis(server.url));
    const pipe = await startPipeline({ redisUrl: server.url, config: { rate: 200, concurrency: 20 } });
    const k = keys(pipe.prefix);
    await admin.call('ACL', 'SETUSER', 'ingress-only', 'on', '>pw', 'resetkeys', `~${pipe.prefix}:ingress*`, '&*', '+@all');
    const ids = pipe.sim.createSessions(7);
    await redisCli(server.url, 'XADD', k.ingress, '*', 'session_id', ids[0]!, 'request_id', 'r-0');
    await redisCli(server.url, 'XADD', k.ingress, '*', 'session_ids', JSON.stringify(ids.slice(1, 4)), 'request_id', 'r-batch');
    await redisCli(server.url, 'XADD', k.ingress, '*', 'session_ids', JSON.stringify(ids.slice(4)));

    const doomed = spawnCli(['ingress', '--consumer-name', 'doomed', '--claim-idle-ms', '600000'], {
      env: { REDIS_URL: `redis://ingress-only:pw@127.0.0.1:${server.port}`, BB_REAPER_PREFIX: pipe.prefix, LOG_LEVEL: 'warn' },
    });
    await waitFor('the doomed bridge holding all 3 entries', async () => (await pendingByConsumer(admin, k.ingress)).doomed === 3);
    await doomed.waitForOutput(/NOPERM/); // it really tried to enqueue, and could not
    doomed.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');
    expect(await pipe.producer.queues.closeQueue.getJobCountByTypes('waiting', 'active', 'completed', 'delayed')).toBe(0);

    const service = track(await startWorkerService({ config: pipe.config, logger: testLogger(), ingress: false }), 'worker service');
    const live = track(startIngressBridge({ connection: admin, prefix: pipe.prefix, logger: testLogger(), claimIdleMs: 300, blockMs: 200 }), 'ingress bridge');
    await waitFor('an outcome per session', async () => (await readResults({ redis: admin, prefix: pipe.prefix })).length === ids.length);
    for (const id of ids) await waitFor(`${id} COMPLETED`, async () => (await pipe.client.getSession(id)).status === 'COMPLETED');
    const results = await readResults({ redis: admin, prefix: pipe.prefix });
    expect(results.map((r) => r.sessionId).sort()).toEqual([...ids].sort());
    expect(results.every((r) => r.outcome === 'closed')).toBe(true);
    expect(results.find((r) => r.sessionId === ids[2])?.requestId).toBe('r-batch');
    expect(await pendingByConsumer(admin, k.ingress)).toEqual({});
    expect(live.stats().claimed).toBe(3);
    expect(pipe.sim.stats().closes.distinctSessions).toBe(ids.length);

    await live.close();
    await service.close();
    await doomed.close();
    await pipe.producer.close();
    await pipe.client.close();
    await pipe.sim.close();
    await admin.quit();
    await server.close();
  });
});
