import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { INGRESS_FIELDS } from '../../src/ingress/index.js';
import { createResultsWriter, readResults } from '../../src/results/index.js';
import { aclRules } from '../../src/shared/redis-acl.js';
import { keys } from '../../src/shared/names.js';
import { getQueueStats } from '../../src/shared/queues.js';
import { createRedis, type Redis } from '../../src/shared/redis.js';
import { startSimulator } from '../../src/simulator/index.js';
import { createCloseWorker, readWorkerHeartbeats } from '../../src/worker/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { track, uniquePrefix } from '../helpers/context.js';
import { SIM_KEY, seedSessions, startPipeline, testLogger, waitFor } from '../helpers/pipeline.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.js';

const ADMIN_PASSWORD = 'admin-pw-7c1f0e';
const APP_PASSWORD = 'app-pw-Zq8rT4u1';

let certs: TestCertificates;
/** TLS only; clients may present a certificate. */
let server: RedisServerHandle;
/** TLS only; clients must present a certificate signed by the CA. */
let strict: RedisServerHandle;
let admin: Redis;

const port = (s: RedisServerHandle) => s.port;
const url = (s: RedisServerHandle, user: string, password: string) => `rediss://${user}:${password}@localhost:${port(s)}`;

beforeAll(async () => {
  certs = await makeTestCertificates();
  const aclFile = join(certs.dir, 'users.acl');
  await writeFile(aclFile, `user default on >${ADMIN_PASSWORD} ~* &* +@all\n`);
  const tls = { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile };
  server = await startRedisServer({ tls, extraArgs: ['--aclfile', aclFile] });
  strict = await startRedisServer({ tls: { ...tls, authClients: 'yes' } });
  admin = createRedis({ redisUrl: url(server, 'default', ADMIN_PASSWORD), redisCa: certs.caFile }, { role: 'producer', name: 'test-admin' });
}, 60_000);
afterAll(async () => {
  admin?.disconnect();
  await server?.close();
  await strict?.close();
  await certs?.close();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

/** An ACL user that may touch `prefix`'s keys only, with bb-reaper's rule (`aclRules`). */
async function createAppUser(prefix: string, user = `app-${prefix.slice(-8)}`): Promise<string> {
  await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${APP_PASSWORD}`, ...aclRules({ prefix }));
  cleanups.push(() => admin.call('ACL', 'DELUSER', user));
  return user;
}

/** What the server's ACL refused `user` (ACL LOG), as `reason: object` lines. */
async function refusals(user: string): Promise<string[]> {
  const log = (await admin.call('ACL', 'LOG')) as Array<Array<string | number>>;
  return log
    .map((entry) => Object.fromEntries(Array.from({ length: entry.length / 2 }, (_, i) => [entry[2 * i], entry[2 * i + 1]])))
    .filter((e) => e.username === user)
    .map((e) => `${String(e.reason)}: ${String(e.object)} (${String(e.context)})`);
}

/** The answer is one line on stderr, exit 1, no stack trace, and never a password. */
function expectOneLineFailure(r: { code: number | null; stdout: string; stderr: string }, re: RegExp, secrets: string[] = [APP_PASSWORD]): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
}

describe('Redis over TLS (rediss://, BB_REAPER_REDIS_CA) as an ACL user limited to the key prefix', () => {
  it('runs the worker, ui, close --wait, ingress, sweep, stats and dlq; the ACL refuses nothing, and the password appears nowhere', async () => {
    const prefix = uniquePrefix('tls');
    const user = await createAppUser(prefix);
    const redisUrl = url(server, user, APP_PASSWORD);
    // A simulator slower than the worker's rate: 429s exercise the limiter's slow-down path too.
    const p = await startPipeline({ prefix, redisUrl, redisEnv: { BB_REAPER_REDIS_CA: certs.caFile }, sim: { rate: 60, burst: 10 } });
    cleanups.push(() => p.close());
    const env = { ...p.redisEnv, BB_REAPER_PREFIX: prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url };
    const seen: string[] = [];

    // Dead letters: an in-process worker whose API key the simulator refuses.
    const badClient = track(createBrowserbaseClient({ apiKey: 'revoked-key', baseUrl: p.sim.url }), 'client');
    cleanups.push(() => badClient.close());
    const results = createResultsWriter({ redis: p.producer.redis, prefix });
    const badWorker = track(await createCloseWorker({ config: p.config, client: badClient, logger: testLogger(), results }), 'close worker');
    const refused = p.sim.createSessions(2);
    await p.producer.closeSessions(refused);
    await waitFor('2 dead letters parked', async () => (await p.producer.queues.deadLetterQueue.getFailedCount()) === 2, 30_000);
    await badWorker.close();

    const worker: CliProcess = spawnCli(['worker', '--rate', '120', '--concurrency', '10'], { env: { ...env, LOG_LEVEL: 'info' } });
    cleanups.push(() => worker.close());
    await waitFor('a worker heartbeat', async () => (await readWorkerHeartbeats(p.producer.redis, prefix)).length === 1, 30_000);
    const ui = spawnCli(['ui'], { env: { ...env, BB_REAPER_UI_PORT: '0', LOG_LEVEL: 'info' } });
    cleanups.push(() => ui.close());
    await ui.waitForOutput(/^http:\/\/127\.0\.0\.1:\d+\/ui$/m);
    const base = (/^(http:\/\/127\.0\.0\.1:\d+)\/ui$/m.exec(ui.stdout()) as RegExpExecArray)[1] as string;

    const viaLibrary = p.sim.createSessions(200);
    await p.producer.closeSessions(viaLibrary);
    const viaIngress = p.sim.createSessions(10);
    await p.producer.redis.xadd(keys(prefix).ingress, '*', INGRESS_FIELDS.sessionIds, JSON.stringify(viaIngress));
    const viaCli = p.sim.createSessions(30);
    const close = await runCli(['close', '-', '--wait', '--json'], { env, input: viaCli.join('\n') });
    seen.push(close.stdout, close.stderr);
    expect(close.code, close.stderr).toBe(0);
    expect(JSON.parse(close.stdout)).toMatchObject({ accepted: 30, wait: { closed: 30, pending: 0 } });
    const orphans = await seedSessions(p, { count: 3, startedAgoSeconds: 3600 });
    const sweep = await runCli(['sweep', '--older-than', '30m', '--wait'], { env });
    seen.push(sweep.stdout, sweep.stderr);
    expect(sweep.code, sweep.stderr).toBe(0);
    const schedule = await runCli(['sweep', '--older-than', '30m', '--every', '1h'], { env });
    seen.push(schedule.stdout, schedule.stderr);
    expect(schedule.code, schedule.stderr).toBe(0);

    const everyOk = [...viaLibrary, ...viaIngress, ...viaCli, ...orphans];
    await waitFor('every close released', () => everyOk.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 60_000, 100);
    await waitFor('the queue drained', async () => {
      const s = await getQueueStats(p.producer.queues);
      return s.waiting + s.active + s.delayed === 0 && s.completed >= everyOk.length;
    }, 30_000);

    const stats = await runCli(['stats', '--json'], { env });
    seen.push(stats.stdout, stats.stderr);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ queue: { completed: everyOk.length, dead: 2 } });
    const list = await runCli(['dlq', 'list', '--json'], { env });
    seen.push(list.stdout, list.stderr);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ sessionId: string }>).map((l) => l.sessionId).sort()).toEqual([...refused].sort());
    const retry = await runCli(['dlq', 'retry', '--all', '--wait'], { env });
    seen.push(retry.stdout, retry.stderr);
    expect(retry.code, retry.stderr).toBe(0);

    const apiStats = await (await fetch(`${base}/api/stats`)).text();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const board = await (await fetch(`${base}/ui/api/queues?activeQueue=close&status=completed&page=1&jobsPerPage=5`)).text();
    const ready = await fetch(`${base}/readyz`);
    seen.push(apiStats, metrics, board);
    expect(JSON.parse(apiStats)).toMatchObject({ queues: { completed: everyOk.length + 2, dead: 0 } });
    expect(metrics).toMatch(/bb_reaper_closes_total\{[^}]*outcome="closed"[^}]*\} [1-9]/);
    expect(ready.status).toBe(200);
    expect(p.sim.stats().requests.byStatus['429'] ?? 0, 'the simulator answered 429s: the limiter slowed down').toBeGreaterThan(0);
    const outcomes = await readResults({ redis: p.producer.redis, prefix, count: 10_000 });
    expect(outcomes).toHaveLength(everyOk.length + 2 + 2);

    worker.kill('SIGTERM');
    ui.kill('SIGTERM');
    expect((await worker.exited).code, worker.stderr()).toBe(0);
    expect((await ui.exited).code, ui.stderr()).toBe(0);
    seen.push(worker.stdout(), worker.stderr(), ui.stdout(), ui.stderr());

    // Nothing was refused, even in the background (stalled checks, heartbeats, limiter sync,
    // maintenance), but the optional CLIENT LIST Bull Board asks for to show workers.
    expect((await refusals(user)).filter((r) => !/^command: client\|list /.test(r))).toEqual([]);
    // The password is in no output, log line, answer or metric.
    for (const text of seen) expect(text).not.toContain(APP_PASSWORD);
    expect(seen.join('\n')).toMatch(/close worker started/);
    const commands = ((await admin.info('commandstats')).match(/^cmdstat_[a-z|_-]+/gm) ?? []).map((c) => c.slice('cmdstat_'.length));
    console.log(`[tls-acl] ${everyOk.length} closes over TLS as ACL user ${user}; commands the server ran: ${commands.join(' ')}`);
  }, 180_000);

  it('also trusts a CA given by NODE_EXTRA_CA_CERTS, and sends the client certificate (BB_REAPER_REDIS_CERT / _KEY) to a server that demands one', async () => {
    const prefix = uniquePrefix('tls');
    const user = await createAppUser(prefix);
    const viaNodeCa = await runCli(['stats', '--json', '--prefix', prefix], { env: { REDIS_URL: url(server, user, APP_PASSWORD), NODE_EXTRA_CA_CERTS: certs.caFile } });
    expect(viaNodeCa.code, viaNodeCa.stderr).toBe(0);
    expect(JSON.parse(viaNodeCa.stdout)).toMatchObject({ prefix, queue: { waiting: 0 } });

    const strictUrl = `rediss://localhost:${port(strict)}`;
    const withCert = await runCli(['stats', '--json', '--prefix', prefix], { env: { REDIS_URL: strictUrl, BB_REAPER_REDIS_CA: certs.caFile, BB_REAPER_REDIS_CERT: certs.clientCert, BB_REAPER_REDIS_KEY: certs.clientKey } });
    expect(withCert.code, withCert.stderr).toBe(0);
    const withoutCert = await runCli(['stats', '--prefix', prefix], { env: { REDIS_URL: strictUrl, BB_REAPER_REDIS_CA: certs.caFile } });
    expectOneLineFailure(withoutCert, /^bb-reaper: cannot (reach|use) Redis at rediss:\/\/localhost:\d+/);
  }, 60_000);

  it('a wrong password, an untrusted certificate and a refused ACL command each end with one clear line and exit 1', async () => {
    const prefix = uniquePrefix('tls');
    const user = await createAppUser(prefix);
    const sim = track(await startSimulator({ apiKeys: [SIM_KEY] }), 'simulator');
    cleanups.push(() => sim.close());
    const api = { BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: sim.url, LOG_LEVEL: 'silent' };
    const good = { REDIS_URL: url(server, user, APP_PASSWORD), BB_REAPER_REDIS_CA: certs.caFile, BB_REAPER_PREFIX: prefix };
    const wrong = 'not-the-password-42';
    const wrongEnv = { ...good, REDIS_URL: url(server, user, wrong) };
    const secrets = [APP_PASSWORD, wrong];

    const auth = /Redis refused the credentials \(WRONGPASS [^)]*\): check the user and password in REDIS_URL \[REDIS_AUTH_FAILED\]$/;
    expectOneLineFailure(await runCli(['stats'], { env: wrongEnv }), auth, secrets);
    expectOneLineFailure(await runCli(['close', 'sess-1'], { env: wrongEnv }), auth, secrets);
    const w = await runCli(['worker'], { env: { ...wrongEnv, ...api }, timeoutMs: 30_000 });
    expectOneLineFailure(w, /^bb-reaper: worker not started: Redis at rediss:\/\/app-[^:]+:\*\*\*@localhost:\d+: Redis refused the credentials/, secrets);
    expectOneLineFailure(await runCli(['ui', '--port', '0'], { env: wrongEnv }), auth, secrets);

    const untrusted = /TLS certificate of Redis is not trusted \([^)]+\): set BB_REAPER_REDIS_CA to the CA file that signed it \(or NODE_EXTRA_CA_CERTS\) \[REDIS_TLS_FAILED\]$/;
    const noCa = { REDIS_URL: good.REDIS_URL, BB_REAPER_PREFIX: prefix };
    expectOneLineFailure(await runCli(['stats'], { env: noCa }), untrusted);
    expectOneLineFailure(await runCli(['dlq', 'list'], { env: { ...noCa, BB_REAPER_REDIS_CA: certs.otherCaFile } }), untrusted);
    expectOneLineFailure(await runCli(['stats'], { env: { REDIS_URL: `redis://${user}:${APP_PASSWORD}@localhost:${port(server)}`, BB_REAPER_PREFIX: prefix } }), /^bb-reaper: cannot reach Redis at redis:\/\/app-[^:]+:\*\*\*@localhost:\d+/);

    // The user may touch `prefix`'s keys only: another prefix is refused by the ACL.
    const other = { ...good, BB_REAPER_PREFIX: uniquePrefix('not-granted') };
    const noPerm = /Redis refused a command to this ACL user \(NOPERM [^)]*\): grant the user bb-reaper's ACL rule \(README, "TLS and ACL Redis"\) \[REDIS_NO_PERMISSION\]$/;
    expectOneLineFailure(await runCli(['close', 'sess-1'], { env: other }), noPerm);
    expectOneLineFailure(await runCli(['stats'], { env: other }), noPerm);
    const wp = await runCli(['worker', '--no-ingress'], { env: { ...other, ...api }, timeoutMs: 30_000 });
    expectOneLineFailure(wp, /^bb-reaper: worker not started: .*NOPERM/);
    expect((await refusals(user)).length).toBeGreaterThan(0);
  }, 120_000);

  it('reports TLS settings that cannot work as configuration errors (exit 2), naming each', async () => {
    const r = await runCli(['stats'], { env: { REDIS_URL: 'redis://localhost:1', BB_REAPER_REDIS_CA: '/nonexistent/ca.pem', BB_REAPER_REDIS_CERT: certs.clientCert } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BB_REAPER_REDIS_CA \(redisCa\): cannot read the file \(ENOENT\)/);
    expect(r.stderr).toMatch(/BB_REAPER_REDIS_CA \(redisCa\): BB_REAPER_REDIS_CA needs a rediss:\/\/ REDIS_URL/);
    expect(r.stderr).toMatch(/BB_REAPER_REDIS_KEY \(redisKey\): BB_REAPER_REDIS_CERT and BB_REAPER_REDIS_KEY must be set together/);
  });
});
