import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { INGRESS_FIELDS } from '../../src/ingress/index.js';
import { createResultsWriter, readResults } from '../../src/results/index.js';
import { hashTagOf, keys } from '../../src/shared/names.js';
import { aclRules } from '../../src/shared/redis-acl.js';
import { getQueueStats } from '../../src/shared/queues.js';
import { createCloseWorker, readWorkerHeartbeats } from '../../src/worker/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { track, uniquePrefix } from '../helpers/context.js';
import { SIM_KEY, seedSessions, startPipeline, testLogger, waitFor, type PipelineFixture } from '../helpers/pipeline.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

const APP_PASSWORD = 'cluster-app-pw-3b9e';

/**
 * A pipeline on the cluster, as an ACL user (on every node: ACLs are per node) that has bb-reaper's
 * rule for this prefix only; the user and password are given on the first seed node only.
 */
async function clusterPipeline(): Promise<{ p: PipelineFixture; env: Record<string, string>; tagged: string; user: string }> {
  const prefix = uniquePrefix('cluster');
  const user = `app-${prefix.slice(-8)}`;
  await cluster.onEveryNode('ACL', 'SETUSER', user, 'reset', 'on', `>${APP_PASSWORD}`, ...aclRules({ prefix, redisCluster: true }));
  cleanups.push(() => cluster.onEveryNode('ACL', 'DELUSER', user));
  const [first, ...rest] = cluster.url.split(',');
  const redisUrl = [(first as string).replace('redis://', `redis://${user}:${APP_PASSWORD}@`), ...rest].join(',');
  const p = await startPipeline({ prefix, redisUrl, redisEnv: { BB_REAPER_REDIS_CLUSTER: 'true' } });
  cleanups.push(() => p.close());
  const env = { ...p.redisEnv, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url };
  return { p, env, tagged: p.producer.queues.prefix, user };
}

/** What the ACL of any node refused `user`, but the optional CLIENT LIST (Bull Board's worker view). */
async function refusals(user: string): Promise<string[]> {
  const logs = (await cluster.onEveryNode('ACL', 'LOG')) as Array<Array<Array<string | number>>>;
  return logs
    .flat()
    .map((entry) => Object.fromEntries(Array.from({ length: entry.length / 2 }, (_, i) => [entry[2 * i], entry[2 * i + 1]])))
    .filter((e) => e.username === user && e.object !== 'client|list')
    .map((e) => `${String(e.reason)}: ${String(e.object)}`);
}

function startWorkers(env: Record<string, string>, n: number, extra: string[] = []): CliProcess[] {
  const workers = Array.from({ length: n }, (_, i) => spawnCli(['worker', '--rate', '300', '--concurrency', '10', ...(i === 0 ? [] : ['--no-ingress']), ...extra], { env: { ...env, LOG_LEVEL: 'warn' } }));
  cleanups.push(async () => {
    for (const w of workers) await w.close();
  });
  return workers;
}

async function stopWorkers(workers: CliProcess[]): Promise<void> {
  for (const w of workers) w.kill('SIGTERM');
  const exits = await Promise.all(workers.map((w) => w.exited));
  expect(exits.map((e) => e.code), workers.map((w) => w.stderr()).join('\n')).toEqual(workers.map(() => 0));
}

/** Every key of the cluster whose name contains `prefix`, node by node (asked as the admin user: the app user may not list keys). */
async function keysOnNodes(prefix: string): Promise<string[][]> {
  return (await cluster.onEveryNode('KEYS', `*${prefix}*`)) as string[][];
}

describe('on a Redis Cluster of three masters (BB_REAPER_REDIS_CLUSTER=true, REDIS_URL = the seed nodes)', () => {
  it('closes end to end: producer and ingress -> CLI workers -> simulator -> results; close --wait, sweep --wait, stats, dlq list and retry', async () => {
    const { p, env, tagged, user } = await clusterPipeline();
    expect(tagged).toBe(`{${p.prefix}}`);

    // Dead letters first: an in-process worker whose key the simulator refuses.
    const badClient = track(createBrowserbaseClient({ apiKey: 'revoked-key', baseUrl: p.sim.url }), 'client');
    cleanups.push(() => badClient.close());
    const results = createResultsWriter({ redis: p.producer.redis, prefix: tagged });
    const badWorker = track(await createCloseWorker({ config: p.config, client: badClient, logger: testLogger(), results }), 'close worker');
    const refused = p.sim.createSessions(3);
    await p.producer.closeSessions(refused);
    await waitFor('3 dead letters parked', async () => (await p.producer.queues.deadLetterQueue.getFailedCount()) === 3, 30_000);
    await badWorker.close();

    const workers = startWorkers(env, 2);
    await waitFor('2 worker heartbeats', async () => (await readWorkerHeartbeats(p.producer.redis, tagged)).length === 2, 30_000);

    // The library producer.
    const viaLibrary = p.sim.createSessions(300);
    expect((await p.producer.closeSessions(viaLibrary)).accepted).toBe(300);
    // The ingress stream, read by the first worker's bridge.
    const viaIngress = p.sim.createSessions(20);
    await p.producer.redis.xadd(keys(tagged).ingress, '*', INGRESS_FIELDS.sessionIds, JSON.stringify(viaIngress));
    // The CLI, following its closes to the end.
    const viaCli = p.sim.createSessions(50);
    const close = await runCli(['close', '-', '--wait', '--json'], { env, input: viaCli.join('\n') });
    expect(close.code, close.stderr).toBe(0);
    expect(JSON.parse(close.stdout)).toMatchObject({ accepted: 50, wait: { closed: 50, deadLettered: 0, pending: 0 } });
    // An orphan sweep, also followed to the end.
    const orphans = await seedSessions(p, { count: 5, startedAgoSeconds: 3600 });
    const sweep = await runCli(['sweep', '--older-than', '30m', '--wait'], { env });
    expect(sweep.code, sweep.stderr).toBe(0);

    const everyOk = [...viaLibrary, ...viaIngress, ...viaCli, ...orphans];
    await waitFor('every close released in the simulator', () => everyOk.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 60_000, 100);
    await waitFor('the close queue drained', async () => {
      const s = await getQueueStats(p.producer.queues);
      return s.waiting + s.active + s.delayed === 0 && s.completed >= everyOk.length;
    }, 30_000);

    const stats = await runCli(['stats', '--json'], { env });
    expect(stats.code, stats.stderr).toBe(0);
    const report = JSON.parse(stats.stdout) as { prefix: string; queue: { completed: number; dead: number }; workers: Array<{ alive: boolean }>; limiter: { configuredRate: number } };
    expect(report).toMatchObject({ prefix: tagged, queue: { completed: everyOk.length, dead: 3 }, limiter: { configuredRate: 300 } });
    expect(report.workers.filter((w) => w.alive)).toHaveLength(2);

    const list = await runCli(['dlq', 'list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const letters = JSON.parse(list.stdout) as Array<{ sessionId: string; code: string; httpStatus: number }>;
    expect(letters.map((l) => l.sessionId).sort()).toEqual([...refused].sort());
    expect(letters.every((l) => l.code === 'REJECTED' && l.httpStatus === 401)).toBe(true);
    // The workers now hold a good key: re-driven letters close.
    const retry = await runCli(['dlq', 'retry', '--all', '--wait'], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/closed 3, already gone 0, dead-lettered 0 \(of 3\)/);

    // One result entry per final outcome: every close, the 3 dead letters, their 3 re-driven closes.
    const outcomes = await readResults({ redis: p.producer.redis, prefix: tagged, count: 10_000 });
    expect(outcomes.filter((r) => r.outcome === 'dead_lettered')).toHaveLength(3);
    expect(outcomes.filter((r) => r.outcome !== 'dead_lettered')).toHaveLength(everyOk.length + 3);

    await stopWorkers(workers);
    expect(await refusals(user)).toEqual([]);
    for (const out of [close, sweep, stats, list, retry]) expect(out.stdout + out.stderr).not.toContain(APP_PASSWORD);
    for (const w of workers) expect(w.stdout() + w.stderr()).not.toContain(APP_PASSWORD);

    // Every key bb-reaper wrote lives under the prefix's hash tag, so all of them sit on one node.
    const byNode = await keysOnNodes(p.prefix);
    const all = byNode.flat();
    expect(all.length).toBeGreaterThan(10);
    for (const k of all) expect(hashTagOf(k), k).toBe(p.prefix);
    expect(byNode.filter((ks) => ks.length > 0)).toHaveLength(1);
    console.log(`[cluster] ${everyOk.length} closes + 3 dead letters re-driven; ${all.length} keys, all under ${tagged} on one node`);
  }, 180_000);

  it("gives each account its own hash tag: two accounts' closes by two CLI workers, each account's keys in its own slot", async () => {
    const { p, env, tagged, user } = await clusterPipeline();
    const dir = await mkdtemp(join(tmpdir(), 'bbr-cluster-accounts-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify({ accounts: { default: { apiKeyEnv: 'BB_KEY_SIM', rate: 200 }, prod: { apiKeyEnv: 'BB_KEY_SIM', rate: 100 } } }));
    const accountsEnv = { ...env, BB_REAPER_ACCOUNTS: file, BB_KEY_SIM: SIM_KEY };
    const workers = startWorkers(accountsEnv, 2, ['--no-sweeps']);
    await waitFor('2 worker heartbeats', async () => (await readWorkerHeartbeats(p.producer.redis, tagged)).length === 2, 30_000);
    const forDefault = p.sim.createSessions(50);
    const forProd = p.sim.createSessions(50);
    expect((await p.producer.closeSessions(forDefault)).accepted).toBe(50);
    expect((await p.producer.closeSessions(forProd, { account: 'prod' })).accepted).toBe(50);
    const viaCli = p.sim.createSessions(10);
    const close = await runCli(['close', ...viaCli, '--account', 'prod', '--wait', '--json'], { env: accountsEnv });
    expect(close.code, close.stderr).toBe(0);
    expect(JSON.parse(close.stdout)).toMatchObject({ accepted: 10, wait: { closed: 10, deadLettered: 0, pending: 0 } });
    const all = [...forDefault, ...forProd, ...viaCli];
    await waitFor('every close of both accounts released', () => all.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 60_000, 100);
    await stopWorkers(workers);
    expect(await refusals(user)).toEqual([]);

    const keysSeen = (await keysOnNodes(p.prefix)).flat();
    const prodKeys = keysSeen.filter((k) => hashTagOf(k) === `${p.prefix}@prod`);
    const defaultKeys = keysSeen.filter((k) => hashTagOf(k) === p.prefix);
    expect(prodKeys.length + defaultKeys.length).toBe(keysSeen.length);
    // prod's queue and limiter under its own tag; nothing of prod's under the shared tag
    expect(prodKeys.some((k) => k.includes(':close@prod:'))).toBe(true);
    expect(prodKeys.some((k) => k.includes(':limiter@prod:'))).toBe(true);
    expect(prodKeys.every((k) => k.includes('@prod:') || k.includes('close@prod/'))).toBe(true);
    // the shared keys may name prod's jobs (the results stream's once-only guards), never hold its queue or limiter
    expect(defaultKeys.filter((k) => k.includes('@prod') && !k.includes(':results:seen:close@prod/'))).toEqual([]);
    expect(defaultKeys.some((k) => k.endsWith(':close:meta'))).toBe(true);
    console.log(`[cluster] accounts: ${defaultKeys.length} keys under {${p.prefix}}, ${prodKeys.length} under {${p.prefix}@prod}`);
  }, 180_000);

  it('serves the UI (Bull Board, /api/stats, /metrics) and the ingress command on the cluster', async () => {
    const { p, env, tagged, user } = await clusterPipeline();
    const ui = spawnCli(['ui'], { env: { ...env, BB_REAPER_UI_PORT: '0' } });
    cleanups.push(() => ui.close());
    await ui.waitForOutput(/^http:\/\/127\.0\.0\.1:\d+\/ui$/m);
    const base = (/^(http:\/\/127\.0\.0\.1:\d+)\/ui$/m.exec(ui.stdout()) as RegExpExecArray)[1] as string;

    const bridge = spawnCli(['ingress', '--block-ms', '200'], { env: { ...env, LOG_LEVEL: 'info' } });
    cleanups.push(() => bridge.close());
    await bridge.waitForOutput(/ingress bridge reading/);
    await p.producer.redis.xadd(keys(tagged).ingress, '*', INGRESS_FIELDS.sessionId, 'cluster-ingress-1');
    await p.producer.redis.xadd(keys(tagged).ingress, '*', INGRESS_FIELDS.sessionIds, '["cluster-ingress-2","cluster-ingress-3"]');
    await waitFor('3 waiting close jobs', async () => (await p.producer.queues.closeQueue.getWaitingCount()) === 3, 30_000);

    const stats = (await (await fetch(`${base}/api/stats`)).json()) as { prefix: string; queues: { waiting: number } };
    expect(stats).toMatchObject({ prefix: tagged, queues: { waiting: 3 } });
    const board = (await (await fetch(`${base}/ui/api/queues?activeQueue=close&status=waiting&page=1&jobsPerPage=10`)).json()) as { queues: Array<{ name: string; jobs: unknown[] }> };
    expect(board.queues.find((q) => q.name === 'close')?.jobs).toHaveLength(3);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/bb_reaper_queue_jobs\{account="default",state="waiting"\} 3/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // The same by flags: --redis-cluster takes no value.
    const byFlags = await runCli(['stats', '--json', '--redis-cluster', '--redis-url', p.config.redisUrl, '--prefix', p.prefix]);
    expect(byFlags.code, byFlags.stderr).toBe(0);
    expect(JSON.parse(byFlags.stdout)).toMatchObject({ prefix: tagged, queue: { waiting: 3 } });
    expect(byFlags.stdout + byFlags.stderr).not.toContain(APP_PASSWORD);

    bridge.kill('SIGTERM');
    ui.kill('SIGTERM');
    expect((await bridge.exited).code).toBe(0);
    expect((await ui.exited).code).toBe(0);
    expect(await refusals(user)).toEqual([]);
    expect(metrics + JSON.stringify(stats) + ui.stdout() + ui.stderr() + bridge.stderr()).not.toContain(APP_PASSWORD);
  }, 120_000);

  it('refuses a key prefix without a hash tag on a cluster connection, naming the fix; a wrong password is one line and exit 1', async () => {
    const { p, env } = await clusterPipeline();
    const { createQueues } = await import('../../src/shared/queues.js');
    expect(() => createQueues({ connection: p.producer.redis, prefix: p.prefix })).toThrow(/hash tag on Redis Cluster.*keyPrefix/);
    const wrong = await runCli(['stats'], { env: { ...env, REDIS_URL: env.REDIS_URL!.replace(APP_PASSWORD, 'wrong-pw-5150') } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/Redis refused the credentials \(WRONGPASS .*\[REDIS_AUTH_FAILED\]$/m);
    expect(wrong.stderr).not.toMatch(/wrong-pw-5150|cluster-app-pw/);
  }, 60_000);
});
