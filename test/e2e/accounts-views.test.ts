// Every view is per account: stats and /api/stats, dlq list/retry/purge --account and /api/dlq,
// /metrics with the `account` label, and Bull Board's per-account queues. One worker process serves
// two accounts, one of whose keys the simulator refuses (its closes dead-letter as REJECTED).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../src/producer/index.js';
import { createRedis } from '../../src/shared/redis.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { testRedisUrl, trackRedis, uniquePrefix } from '../helpers/context.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { waitFor } from '../helpers/wait.js';

const GOOD_KEY = 'acct-views-good-key-0001';
const REFUSED_KEY = 'acct-views-refused-key-0002';
let sim: SimulatorHandle;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ apiKeys: [GOOD_KEY], projectId: 'proj-main', releaseDelayMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'bbr-accounts-views-'));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('per-account views', () => {
  it('stats, the ops API, dlq --account, /metrics and Bull Board show each account on its own', async () => {
    const prefix = uniquePrefix('acct-views');
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify({ accounts: { default: { apiKeyEnv: 'BB_KEY_GOOD', rate: 40 }, prod: { apiKeyEnv: 'BB_KEY_REFUSED', rate: 7, attempts: 1 } } }));
    const env = { REDIS_URL: testRedisUrl(), BB_REAPER_PREFIX: prefix, BB_REAPER_ACCOUNTS: file, BB_KEY_GOOD: GOOD_KEY, BB_KEY_REFUSED: REFUSED_KEY, BROWSERBASE_BASE_URL: sim.url, LOG_LEVEL: 'info' };
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const producer = createProducer({ connection: redis, prefix });
    const procs: CliProcess[] = [];
    try {
      const worker = spawnCli(['worker', '--no-ingress', '--no-sweeps', '--unknown-account-grace', '600000'], { env });
      procs.push(worker);
      await worker.waitForOutput(/API check refused the key of the account prod/);
      await worker.waitForOutput(/close worker started/);
      const ok = sim.createSessions(5);
      const refused = sim.createSessions(3);
      await producer.closeSessions(ok);
      await producer.closeSessions(refused, { account: 'prod' });
      // a close for an account nobody serves: listed, flagged
      await producer.closeSessions(sim.createSessions(1), { account: 'ghost' });
      await waitFor('default closes released', () => ok.every((id) => sim.getSession(id)?.status === 'COMPLETED'));
      await waitFor('prod closes dead-lettered', async () => (await producer.queues.deadLetterQueue.getFailedCount()) === 3);

      const stats = await runCli(['stats', '--json'], { env });
      expect(stats.code, stats.stderr).toBe(0);
      type View = { name: string; configured: boolean; queue: { waiting: number; completed: number }; deadLetters: number; workers: number; unserved: boolean; limiter: { configuredRate: number } | null };
      const accounts = (JSON.parse(stats.stdout) as { accounts: View[] }).accounts;
      expect(accounts.map((a) => a.name)).toEqual(['default', 'ghost', 'prod']);
      const byName = Object.fromEntries(accounts.map((a) => [a.name, a]));
      expect(byName.default).toMatchObject({ configured: true, deadLetters: 0, workers: 1, unserved: false, queue: { completed: 5 }, limiter: { configuredRate: 40 } });
      expect(byName.prod).toMatchObject({ configured: true, deadLetters: 3, workers: 1, unserved: false, limiter: { configuredRate: 7 } });
      expect(byName.ghost).toMatchObject({ configured: false, workers: 0, unserved: true, queue: { waiting: 1 }, limiter: null });
      const human = await runCli(['stats'], { env });
      expect(human.stdout).toMatch(/account\s+prod\s+.*dead 3.*7 req\/s/);
      expect(human.stdout).toMatch(/account\s+ghost\s+.*no live worker serves this account/);
      const one = await runCli(['stats', '--account', 'prod', '--json'], { env });
      expect((JSON.parse(one.stdout) as { accounts: View[] }).accounts.map((a) => a.name)).toEqual(['prod']);
      const unknown = await runCli(['stats', '--account', 'nope'], { env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/no account `nope`.*accounts: default, ghost, prod/);

      const prodLetters = await runCli(['dlq', 'list', '--account', 'prod', '--json'], { env });
      const rows = JSON.parse(prodLetters.stdout) as Array<{ id: string; account: string; code: string }>;
      expect(rows.map((r) => r.id).sort()).toEqual(refused.map((id) => `close@prod/${id}`).sort());
      expect(rows.every((r) => r.account === 'prod' && r.code === 'REJECTED')).toBe(true);
      expect(JSON.parse((await runCli(['dlq', 'list', '--account', 'default', '--json'], { env })).stdout)).toEqual([]);

      const ui = spawnCli(['ui'], { env: { ...env, BB_REAPER_UI_PORT: '0' } });
      procs.push(ui);
      await ui.waitForOutput(/^http:\/\/127\.0\.0\.1:\d+\/ui$/m);
      const base = (/^(http:\/\/127\.0\.0\.1:\d+)\/ui$/m.exec(ui.stdout()) as RegExpExecArray)[1] as string;
      const api = (await (await fetch(`${base}/api/stats?account=prod`)).json()) as { accounts: View[] };
      expect(api.accounts).toEqual([expect.objectContaining({ name: 'prod', deadLetters: 3, workers: 1 })]);
      expect((await fetch(`${base}/api/stats?account=nope`)).status).toBe(404);
      expect((await fetch(`${base}/api/stats?account=NOT%20A%20NAME`)).status).toBe(400);
      const dlq = (await (await fetch(`${base}/api/dlq?account=prod`)).json()) as { total: number };
      expect(dlq.total).toBe(3);
      const metricsText = await (await fetch(`${base}/metrics`)).text();
      const m = parsePrometheusText(metricsText);
      expect(sampleValue(m, 'bb_reaper_closes_total', { account: 'prod', outcome: 'dead_lettered' })).toBe(3);
      expect(sampleValue(m, 'bb_reaper_closes_total', { account: 'default', outcome: 'closed' })).toBe(5);
      expect(sampleValue(m, 'bb_reaper_api_responses_total', { account: 'prod', status: '401' })).toBeGreaterThanOrEqual(3);
      expect(sampleValue(m, 'bb_reaper_limiter_configured_rate', { account: 'prod' })).toBe(7);
      expect(sampleValue(m, 'bb_reaper_limiter_configured_rate', { account: 'default' })).toBe(40);
      expect(sampleValue(m, 'bb_reaper_queue_jobs', { account: 'prod', state: 'dead' })).toBe(3);
      expect(sampleValue(m, 'bb_reaper_queue_jobs', { account: 'ghost', state: 'waiting' })).toBe(1);
      expect(sampleValue(m, 'bb_reaper_queue_jobs', { account: 'default', state: 'dead' })).toBe(0);
      const board = (await (await fetch(`${base}/ui/api/queues?page=1&jobsPerPage=10`)).json()) as { queues: Array<{ name: string }> };
      expect(board.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['close', 'close@prod', 'close@ghost', 'dead-letter', 'sweep', 'sweep@prod', 'sweep@ghost']));

      const purge = await runCli(['dlq', 'purge', '--account', 'prod', '--yes', '--json'], { env });
      expect(JSON.parse(purge.stdout)).toEqual({ purged: 3 });
      expect(await producer.queues.deadLetterQueue.getFailedCount()).toBe(0);

      const everything = [stats, human, one, unknown, prodLetters, purge].map((r) => r.stdout + r.stderr).join('') + metricsText + JSON.stringify(api) + procs.map((p) => p.stdout() + p.stderr()).join('');
      expect(everything).not.toContain(GOOD_KEY);
      expect(everything).not.toContain(REFUSED_KEY);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      for (const p of procs) await p.close();
      for (const a of ['default', 'prod', 'ghost']) await producer.queues.closeQueueFor(a).obliterate({ force: true });
      await producer.queues.deadLetterQueue.obliterate({ force: true });
      await producer.close();
      await redis.quit();
    }
  }, 120_000);
});
