// Commands that use one account's key take --account: each lists and closes with that account's
// key only (the simulator gives each account its own project, and a foreign key sees nothing).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/wait.js';
import { testRedisUrl, trackRedis, uniquePrefix } from '../helpers/context.js';

const PROD_KEY = 'acct-cli-prod-key-0001';
const STAGING_KEY = 'acct-cli-staging-key-0002';
let sim: SimulatorHandle;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulator({ apiKeys: [PROD_KEY], projectId: 'proj-prod', projects: { 'proj-staging': [STAGING_KEY] }, releaseDelayMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'bbr-accounts-cli-'));
  const secret = join(dir, 'staging.secret');
  await writeFile(secret, `${STAGING_KEY}\n`);
  const file = join(dir, 'accounts.yaml');
  await writeFile(file, `accounts:\n  prod:\n    apiKeyEnv: BB_KEY_PROD\n    rate: 25\n  staging:\n    apiKeyFile: ${secret}\n    plan: free\n`);
  env = { BB_REAPER_ACCOUNTS: file, BB_KEY_PROD: PROD_KEY, BROWSERBASE_BASE_URL: sim.url, REDIS_URL: testRedisUrl() };
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const noKeys = (out: string) => {
  expect(out).not.toContain(PROD_KEY);
  expect(out).not.toContain(STAGING_KEY);
};

describe('--account on the commands that call the API', () => {
  it("sessions and slots use the named account's key: each sees its own project only", async () => {
    const [prodId] = sim.createSessions(1, { projectId: 'proj-prod' });
    const [stagingId] = sim.createSessions(1, { projectId: 'proj-staging' });
    const prod = await runCli(['sessions', 'list', '--account', 'prod', '--json'], { env });
    expect(prod.code, prod.stderr).toBe(0);
    expect((JSON.parse(prod.stdout) as Array<{ id: string }>).map((s) => s.id)).toContain(prodId);
    expect((JSON.parse(prod.stdout) as Array<{ id: string }>).map((s) => s.id)).not.toContain(stagingId);
    const staging = await runCli(['sessions', 'get', stagingId as string, '--account', 'staging', '--json'], { env });
    expect(staging.code, staging.stderr).toBe(0);
    expect(JSON.parse(staging.stdout)).toMatchObject({ id: stagingId, projectId: 'proj-staging' });
    const foreign = await runCli(['sessions', 'get', prodId as string, '--account', 'staging'], { env });
    expect(foreign.code).toBe(1);
    const slots = await runCli(['slots', '--account', 'staging', '--json'], { env: { ...env, BB_REAPER_PREFIX: uniquePrefix('acct-slots') } });
    expect(slots.code, slots.stderr).toBe(0);
    expect(JSON.parse(slots.stdout)).toMatchObject({ project: { id: 'proj-staging' } });
    for (const r of [prod, staging, foreign, slots]) noKeys(r.stdout + r.stderr);
  });

  it('only the named account needs its key; an unknown account or a missing key is exit 2 naming it', async () => {
    // staging's key comes from a file: prod's variable may be unset for a staging command
    const { BB_KEY_PROD: _unused, ...withoutProd } = env;
    const ok = await runCli(['projects', 'list', '--account', 'staging', '--json'], { env: withoutProd });
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as Array<{ id: string }>).map((p) => p.id)).toEqual(['proj-staging']);
    const missing = await runCli(['projects', 'list', '--account', 'prod'], { env: withoutProd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/accounts\.prod\.apiKeyEnv\): the environment variable BB_KEY_PROD is not set/);
    const unknown = await runCli(['sessions', 'list', '--account', 'nope'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no such account; configured: prod, staging, got `nope`/);
    const badName = await runCli(['close', 'x-1', '--account', 'Bad Name'], { env });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/--account: expected an account name/);
  });

  it("sweep --account lists with that account's key and enqueues the closes for that account", async () => {
    const prefix = uniquePrefix('acct-sweep');
    const ids = sim.createSessions(3, { projectId: 'proj-staging', startedAgoSeconds: 600 });
    sim.createSessions(2, { projectId: 'proj-prod', startedAgoSeconds: 600 });
    const swept = await runCli(['sweep', '--older-than', '5m', '--account', 'staging', '--json'], { env: { ...env, BB_REAPER_PREFIX: prefix } });
    expect(swept.code, swept.stderr).toBe(0);
    noKeys(swept.stdout + swept.stderr);
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const queues = createQueues({ connection: redis, prefix });
    try {
      const waiting = (await queues.closeQueueFor('staging').getWaiting()).map((j) => j.id);
      expect(waiting).toEqual(expect.arrayContaining(ids.map((id) => `close@staging/${id}`)));
      expect(await queues.closeQueue.getWaitingCount()).toBe(0);
      // the other account's orphans were not seen by staging's key
      expect(waiting.every((id) => String(id).startsWith('close@staging/'))).toBe(true);
    } finally {
      for (const a of ['default', 'staging']) await queues.closeQueueFor(a).obliterate({ force: true });
      await queues.close();
      await redis.quit();
    }
  });

  it('sweep --all-accounts sweeps each account with its own key; a refused key is reported and the others still run (exit 1)', async () => {
    const prefix = uniquePrefix('acct-sweep-all');
    const file = join(dir, 'with-broken.yaml');
    await writeFile(file, `accounts:\n  prod:\n    apiKeyEnv: BB_KEY_PROD\n  staging:\n    apiKeyFile: ${join(dir, 'staging.secret')}\n  broken:\n    apiKeyEnv: BB_KEY_BROKEN\n`);
    const staging = sim.createSessions(2, { projectId: 'proj-staging', startedAgoSeconds: 900 });
    const prod = sim.createSessions(2, { projectId: 'proj-prod', startedAgoSeconds: 900 });
    const e = { ...env, BB_REAPER_ACCOUNTS: file, BB_KEY_BROKEN: 'acct-cli-broken-key-9999', BB_REAPER_PREFIX: prefix };
    const both = await runCli(['sweep', '--older-than', '10m', '--all-accounts', '--account', 'prod'], { env: e });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--account or --all-accounts, not both/);
    const swept = await runCli(['sweep', '--older-than', '10m', '--all-accounts', '--json'], { env: e });
    expect(swept.code, swept.stderr).toBe(1);
    expect(swept.stderr).toMatch(/account broken: sweep failed: .*401/);
    const out = JSON.parse(swept.stdout) as { accounts: Array<{ account: string; error?: { httpStatus?: number }; enqueued?: { accepted: number } }> };
    expect(out.accounts.map((a) => a.account).sort()).toEqual(['broken', 'prod', 'staging']);
    expect(out.accounts.find((a) => a.account === 'broken')?.error?.httpStatus).toBe(401);
    const human = await runCli(['sweep', '--older-than', '10m', '--all-accounts', '--dry-run'], { env: e });
    expect(human.stdout).toMatch(/== account prod ==[\s\S]*== account staging ==/);
    noKeys(swept.stdout + swept.stderr + human.stdout + human.stderr);
    expect(swept.stdout + swept.stderr).not.toContain('acct-cli-broken-key-9999');
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const queues = createQueues({ connection: redis, prefix });
    try {
      const ids = async (a: string) => (await queues.closeQueueFor(a).getWaiting()).map((j) => String(j.id));
      expect(await ids('staging')).toEqual(expect.arrayContaining(staging.map((id) => `close@staging/${id}`)));
      expect(await ids('prod')).toEqual(expect.arrayContaining(prod.map((id) => `close@prod/${id}`)));
      expect((await ids('staging')).some((id) => prod.some((p) => id.endsWith(p)))).toBe(false);
    } finally {
      for (const a of ['default', 'prod', 'staging', 'broken']) await queues.closeQueueFor(a).obliterate({ force: true });
      await queues.close();
      await redis.quit();
    }
  });

  it("recurring sweeps per account: --every --all-accounts registers one per account, each run by the workers serving it with its key; --list and stats show them, --stop --all-accounts removes them", async () => {
    const prefix = uniquePrefix('acct-sweep-every');
    const e = { ...env, BB_REAPER_PREFIX: prefix, LOG_LEVEL: 'info' };
    const staging = sim.createSessions(2, { projectId: 'proj-staging', startedAgoSeconds: 1200 });
    const prod = sim.createSessions(2, { projectId: 'proj-prod', startedAgoSeconds: 1200 });
    const reg = await runCli(['sweep', '--older-than', '15m', '--every', '1h', '--all-accounts', '--json'], { env: e });
    expect(reg.code, reg.stderr).toBe(0);
    expect((JSON.parse(reg.stdout) as { registered: Array<{ account: string; name: string }> }).registered.map((r) => `${r.account}/${r.name}`)).toEqual(['prod/default', 'staging/default']);
    const one = await runCli(['sweep', '--older-than', '15m', '--every', '30m', '--account', 'staging', '--name', 'nightly'], { env: e });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/registered recurring sweep `nightly` of account `staging`: every 30m/);
    const list = JSON.parse((await runCli(['sweep', '--list', '--json'], { env: e })).stdout) as Array<{ account: string; name: string }>;
    expect(list.map((s) => `${s.account}/${s.name}`).sort()).toEqual(['prod/default', 'staging/default', 'staging/nightly']);
    const onlyProd = JSON.parse((await runCli(['sweep', '--list', '--account', 'prod', '--json'], { env: e })).stdout) as Array<{ account: string }>;
    expect(onlyProd.map((s) => s.account)).toEqual(['prod']);
    expect((await runCli(['sweep', '--list', '--account', 'ghost'], { env: e })).code).toBe(2);

    // A worker serving staging only runs staging's sweeps (prod's wait for a worker holding prod's key).
    const worker = spawnCli(['worker', '--no-ingress', '--account', 'staging'], { env: e });
    try {
      await worker.waitForOutput(/serving 1 account\(s\): staging/);
      await waitFor("staging's orphans closed by its recurring sweep", () => staging.every((id) => sim.getSession(id)?.status === 'COMPLETED'));
      expect(prod.every((id) => sim.getSession(id)?.status === 'RUNNING')).toBe(true);
    } finally {
      worker.kill('SIGTERM');
      expect((await worker.exited).code, worker.stderr()).toBe(0);
      await worker.close();
    }
    const worker2 = spawnCli(['worker', '--no-ingress'], { env: e });
    try {
      await worker2.waitForOutput(/serving 2 account\(s\): prod, staging/);
      await waitFor("prod's orphans closed by its recurring sweep", () => prod.every((id) => sim.getSession(id)?.status === 'COMPLETED'));
      // A foreign key sees another project's session as 404: none was sent with the wrong key.
      expect(sim.calls().filter((c) => c.method === 'POST' && c.status === 404)).toEqual([]);
      const stats = JSON.parse((await runCli(['stats', '--json'], { env: e })).stdout) as { sweeps: Array<{ account: string; name: string }> };
      expect(stats.sweeps.map((s) => `${s.account}/${s.name}`).sort()).toEqual(['prod/default', 'staging/default', 'staging/nightly']);
      const human = await runCli(['stats'], { env: e });
      expect(human.stdout).toMatch(/nightly \(account staging\): every 30m/);
      noKeys(worker2.stdout() + worker2.stderr() + human.stdout);
    } finally {
      worker2.kill('SIGTERM');
      expect((await worker2.exited).code, worker2.stderr()).toBe(0);
      await worker2.close();
    }
    const stop = await runCli(['sweep', '--stop', '--all-accounts', '--json'], { env: e });
    expect(JSON.parse(stop.stdout)).toEqual({ name: 'default', accounts: [{ account: 'prod', removed: true }, { account: 'staging', removed: true }] });
    expect((await runCli(['sweep', '--stop', '--name', 'nightly', '--account', 'staging'], { env: e })).stdout).toMatch(/removed recurring sweep `nightly` of account `staging`/);
    expect(JSON.parse((await runCli(['sweep', '--list', '--json'], { env: e })).stdout)).toEqual([]);
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const queues = createQueues({ connection: redis, prefix });
    try {
      for (const a of ['default', 'prod', 'staging']) await queues.closeQueueFor(a).obliterate({ force: true });
    } finally {
      await queues.close();
      await redis.quit();
    }
  });
});
