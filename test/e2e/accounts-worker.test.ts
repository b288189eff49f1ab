// `bb-reaper worker` with an accounts file: one process serves every account with that account's
// key (the simulator answers 404 to a foreign key, so a session released proves the right key);
// a close for an account no worker serves is warned about, dead-lettered as UNKNOWN_ACCOUNT after
// the grace period, and re-driven to its close once a worker serves the account.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResults } from '../../src/results/index.js';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/wait.js';
import { testRedisUrl, trackRedis, uniquePrefix } from '../helpers/context.js';

const PROD_KEY = 'acct-worker-prod-key-0001';
const STAGING_KEY = 'acct-worker-staging-key-0002';
let sim: SimulatorHandle;
let dir: string;
let base: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulator({ apiKeys: [PROD_KEY], projectId: 'proj-prod', projects: { 'proj-staging': [STAGING_KEY] }, releaseDelayMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'bbr-accounts-worker-'));
  await writeFile(join(dir, 'staging.secret'), `${STAGING_KEY}\n`);
  base = { BB_KEY_PROD: PROD_KEY, BROWSERBASE_BASE_URL: sim.url, REDIS_URL: testRedisUrl(), LOG_LEVEL: 'info' };
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const noKeys = (out: string) => {
  expect(out).not.toContain(PROD_KEY);
  expect(out).not.toContain(STAGING_KEY);
};

async function accountsFile(name: string, accounts: Record<string, Record<string, unknown>>): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify({ accounts }));
  return file;
}

async function stop(worker: CliProcess): Promise<void> {
  worker.kill('SIGTERM');
  expect((await worker.exited).code).toBe(0);
  await worker.close();
}

describe('the worker serves every account of its accounts file', () => {
  it("closes each account's sessions with that account's key, and its results name the account", async () => {
    const prefix = uniquePrefix('acct-worker-two');
    const file = await accountsFile('two.json', { default: { apiKeyEnv: 'BB_KEY_PROD' }, staging: { apiKeyFile: join(dir, 'staging.secret'), rate: 5 } });
    const env = { ...base, BB_REAPER_ACCOUNTS: file, BB_REAPER_PREFIX: prefix };
    const prodIds = sim.createSessions(3, { projectId: 'proj-prod' });
    const stagingIds = sim.createSessions(3, { projectId: 'proj-staging' });
    expect((await runCli(['close', ...prodIds, '--json'], { env })).code).toBe(0);
    expect((await runCli(['close', ...stagingIds, '--account', 'staging', '--json'], { env })).code).toBe(0);
    const worker = spawnCli(['worker', '--no-ingress', '--no-sweeps'], { env });
    try {
      await worker.waitForOutput(/serving 2 account\(s\): default, staging/);
      await waitFor('every session of both accounts released', () => [...prodIds, ...stagingIds].every((id) => sim.getSession(id)?.status === 'COMPLETED'));
      // A foreign key sees another project's session as 404: none was sent with the wrong key.
      expect(sim.calls().filter((c) => c.method === 'POST' && c.status === 404)).toEqual([]);
      const posts = sim.calls().filter((c) => c.method === 'POST' && c.status === 200);
      expect(posts.filter((c) => c.project === 'proj-staging').length).toBeGreaterThanOrEqual(3);
      const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
      try {
        await waitFor('six results', async () => (await readResults({ redis, prefix })).length >= 6);
        const results = await readResults({ redis, prefix });
        expect(results.filter((r) => r.account === 'staging').map((r) => r.sessionId).sort()).toEqual([...stagingIds].sort());
        expect(results.filter((r) => r.account === 'default').map((r) => r.sessionId).sort()).toEqual([...prodIds].sort());
        expect(JSON.parse((await redis.hget(`${prefix}:workers:accounts`, (await redis.hkeys(`${prefix}:workers:accounts`))[0] as string)) as string)).toEqual(['default', 'staging']);
        const dump = JSON.stringify(await redis.keys(`${prefix}*`)) + JSON.stringify(results);
        noKeys(dump);
      } finally {
        await redis.quit();
      }
      noKeys(worker.stdout() + worker.stderr());
    } finally {
      await stop(worker);
    }
  });

  it('a close for an account no worker serves: warned, dead-lettered as UNKNOWN_ACCOUNT, re-driven once a worker serves it', async () => {
    const prefix = uniquePrefix('acct-worker-unknown');
    const only = await accountsFile('default-only.json', { default: { apiKeyEnv: 'BB_KEY_PROD' } });
    const env = { ...base, BB_REAPER_ACCOUNTS: only, BB_REAPER_PREFIX: prefix };
    const [ghostId] = sim.createSessions(1, { projectId: 'proj-staging' });
    const worker = spawnCli(['worker', '--no-ingress', '--no-sweeps', '--unknown-account-grace', '1000'], { env });
    let letterId: string;
    try {
      await worker.waitForOutput(/close worker started/);
      const close = await runCli(['close', ghostId as string, '--account', 'ghost'], { env });
      expect(close.code, close.stderr).toBe(0);
      expect(close.stderr).toMatch(/no live worker serves the account `ghost`.*UNKNOWN_ACCOUNT/s);
      await worker.waitForOutput(/no worker serves the account ghost/);
      let letters: Array<{ id: string; code: string; sessionId: string; message: string }> = [];
      await waitFor('the ghost close dead-lettered', async () => {
        const list = await runCli(['dlq', 'list', '--json'], { env });
        letters = JSON.parse(list.stdout) as typeof letters;
        return letters.length === 1;
      });
      expect(letters[0]).toMatchObject({ id: `close@ghost/${ghostId}`, code: 'UNKNOWN_ACCOUNT', sessionId: ghostId });
      expect(letters[0]?.message).toContain('`ghost`');
      letterId = letters[0]?.id as string;
      expect(sim.getSession(ghostId as string)?.status).toBe('RUNNING');
      expect(sim.calls().filter((c) => c.path.includes(ghostId as string))).toEqual([]);
    } finally {
      await stop(worker);
    }
    // The account is configured: its close is re-driven and done.
    const withGhost = await accountsFile('with-ghost.json', { default: { apiKeyEnv: 'BB_KEY_PROD' }, ghost: { apiKeyFile: join(dir, 'staging.secret') } });
    const env2 = { ...env, BB_REAPER_ACCOUNTS: withGhost };
    const worker2 = spawnCli(['worker', '--no-ingress', '--no-sweeps'], { env: env2 });
    try {
      await worker2.waitForOutput(/serving 2 account\(s\)/);
      const retry = await runCli(['dlq', 'retry', letterId, '--wait'], { env: env2 });
      expect(retry.code, retry.stdout + retry.stderr).toBe(0);
      await waitFor('the ghost session released', () => sim.getSession(ghostId as string)?.status === 'COMPLETED');
      noKeys(worker2.stdout() + worker2.stderr() + retry.stdout + retry.stderr);
    } finally {
      await stop(worker2);
    }
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const queues = createQueues({ connection: redis, prefix });
    try {
      for (const a of ['default', 'ghost']) await queues.closeQueueFor(a).obliterate({ force: true });
      await queues.deadLetterQueue.obliterate({ force: true });
    } finally {
      await queues.close();
      await redis.quit();
    }
  });
});
