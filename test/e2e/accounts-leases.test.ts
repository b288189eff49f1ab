// Leases of another account: made from the CLI (`lease --account`, `sessions create --account
// --lease`), the library (`producer.lease(id, { account })`) and the ingress (`account` with
// `close_after`), each lives beside that account's close queue and fires or is released through
// that account's worker, with that account's key (the simulator answers 404 to a foreign key).
// `lease --list`, `/api/leases`, `stats` and `/metrics` show each lease's account.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../src/producer/producer.js';
import { readResults } from '../../src/results/index.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { testRedisUrl, uniquePrefix } from '../helpers/context.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { waitFor } from '../helpers/wait.js';

const DEFAULT_KEY = 'acct-leases-default-key-01';
const PROD_KEY = 'acct-leases-prod-key-0002';
let sim: SimulatorHandle;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ apiKeys: [DEFAULT_KEY], projectId: 'proj-default', projects: { 'proj-prod': [PROD_KEY] }, releaseDelayMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'bbr-accounts-leases-'));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

interface ListedLease {
  sessionId: string;
  account: string;
}

describe('leases per account', () => {
  it('a lease of account prod is listed as prod\'s, fires or is released with prod\'s key, and is counted under account="prod"', async () => {
    const prefix = uniquePrefix('acct-leases');
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify({ accounts: { default: { apiKeyEnv: 'BB_KEY_DEFAULT' }, prod: { apiKeyEnv: 'BB_KEY_PROD', rate: 5 } } }));
    const env = { BB_KEY_DEFAULT: DEFAULT_KEY, BB_KEY_PROD: PROD_KEY, BROWSERBASE_BASE_URL: sim.url, REDIS_URL: testRedisUrl(), BB_REAPER_ACCOUNTS: file, BB_REAPER_PREFIX: prefix, LOG_LEVEL: 'info' };
    const [cliFires, cliReleased, libFires, ingressFires] = sim.createSessions(4, { projectId: 'proj-prod' }) as [string, string, string, string];
    const [defaultKept] = sim.createSessions(1, { projectId: 'proj-default' }) as [string];
    const procs: CliProcess[] = [];
    const producer = createProducer({ redisUrl: testRedisUrl(), prefix });
    try {
      // Made while no worker runs: they wait, each in its account's queue.
      for (const [id, ttl] of [[cliFires, '10s'], [cliReleased, '10m']] as const) {
        const r = await runCli(['lease', id, '--ttl', ttl, '--account', 'prod'], { env });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/created: closes in/);
      }
      expect((await runCli(['lease', defaultKept, '--ttl', '10m'], { env })).code).toBe(0);
      const lib = await producer.lease(libFires, { ttl: '10s', account: 'prod', requestId: 'lib-prod' });
      expect(lib.status).toBe('created');
      await expect(producer.lease(libFires, { ttl: '10s', account: 'Not A Name' })).rejects.toThrow(/`account` must be an account name/);
      await producer.redis.xadd(`${prefix}:ingress`, '*', 'session_id', ingressFires, 'close_after', '10s', 'account', 'prod');

      const bad = await runCli(['lease', cliFires, '--ttl', '10m', '--account', 'NOPE!'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--account: expected an account name/);

      const worker = spawnCli(['worker', '--no-sweeps'], { env });
      procs.push(worker);
      await worker.waitForOutput(/serving 2 account\(s\): default, prod/);
      await waitFor('the ingress lease made in prod', async () => {
        const list = await runCli(['lease', '--list', '--account', 'prod', '--json'], { env });
        return (JSON.parse(list.stdout) as { leases: ListedLease[] }).leases.some((l) => l.sessionId === ingressFires);
      });
      const all = JSON.parse((await runCli(['lease', '--list', '--json'], { env })).stdout) as { total: number; leases: ListedLease[] };
      expect(all.total).toBe(5);
      const accountOf = new Map(all.leases.map((l) => [l.sessionId, l.account]));
      expect(Object.fromEntries(accountOf)).toEqual({ [cliFires]: 'prod', [cliReleased]: 'prod', [libFires]: 'prod', [ingressFires]: 'prod', [defaultKept]: 'default' });
      const human = await runCli(['lease', '--list'], { env });
      expect(human.stdout).toMatch(new RegExp(`${cliReleased}\\s+prod\\s`));
      const unknown = await runCli(['lease', '--list', '--account', 'ghost'], { env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/no account `ghost`/);

      const release = await runCli(['lease', '--release', cliReleased, '--account', 'prod'], { env });
      expect(release.code, release.stderr).toBe(0);
      // In the default account there is no lease of that session: nothing to release.
      expect((await runCli(['lease', '--release', cliFires], { env })).code).toBe(1);

      await waitFor('the prod leases fired or released', () => [cliFires, cliReleased, libFires, ingressFires].every((id) => sim.getSession(id)?.status === 'COMPLETED'), 60_000);
      expect(sim.getSession(defaultKept)?.status).toBe('RUNNING');
      // A foreign key sees another project's session as 404: none was sent with the wrong key.
      expect(sim.calls().filter((c) => c.method === 'POST' && c.status === 404)).toEqual([]);

      await waitFor('four prod results', async () => (await readResults({ redis: producer.redis, prefix })).filter((r) => r.account === 'prod').length >= 4);
      const results = await readResults({ redis: producer.redis, prefix });
      const end = Object.fromEntries(results.map((r) => [r.sessionId, { account: r.account, lease: r.lease, leaseEnd: r.leaseEnd }]));
      expect(end).toEqual({
        [cliFires]: { account: 'prod', lease: true, leaseEnd: 'fired' },
        [cliReleased]: { account: 'prod', lease: true, leaseEnd: 'released' },
        [libFires]: { account: 'prod', lease: true, leaseEnd: 'fired' },
        [ingressFires]: { account: 'prod', lease: true, leaseEnd: 'fired' },
      });

      // `sessions create --account prod --lease`: created with prod's key, leased in prod.
      const created = await runCli(['sessions', 'create', '--account', 'prod', '--lease', '10m', '--json'], { env });
      expect(created.code, created.stderr).toBe(0);
      const newId = (JSON.parse(created.stdout) as { id: string }).id;
      expect(sim.calls().some((c) => c.method === 'POST' && c.path === '/v1/sessions' && c.project === 'proj-prod')).toBe(true);
      const prodList = JSON.parse((await runCli(['lease', '--list', '--account', 'prod', '--json'], { env })).stdout) as { leases: ListedLease[] };
      expect(prodList.leases.map((l) => l.sessionId)).toEqual([newId]);
      expect((await runCli(['lease', '--release', newId, '--account', 'prod'], { env })).code).toBe(0);
      await waitFor('the created session released', () => sim.getSession(newId)?.status === 'COMPLETED');

      const ui = spawnCli(['ui'], { env: { ...env, BB_REAPER_UI_PORT: '0' } });
      procs.push(ui);
      await ui.waitForOutput(/^http:\/\/127\.0\.0\.1:\d+\/ui$/m);
      const base = (/^(http:\/\/127\.0\.0\.1:\d+)\/ui$/m.exec(ui.stdout()) as RegExpExecArray)[1] as string;
      const apiAll = (await (await fetch(`${base}/api/leases`)).json()) as { total: number; leases: ListedLease[] };
      expect(apiAll).toMatchObject({ total: 1, leases: [{ sessionId: defaultKept, account: 'default' }] });
      expect(((await (await fetch(`${base}/api/leases?account=prod`)).json()) as { total: number }).total).toBe(0);
      expect((await fetch(`${base}/api/leases?account=ghost`)).status).toBe(404);
      expect((await fetch(`${base}/api/leases?account=NOT%20A%20NAME`)).status).toBe(400);
      const stats = (await (await fetch(`${base}/api/stats?account=prod`)).json()) as { accounts: Array<{ name: string; leases: Record<string, number> }> };
      expect(stats.accounts[0]?.leases).toMatchObject({ active: 0, created: 5, fired: 3, released: 2 });
      const m = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
      expect(sampleValue(m, 'bb_reaper_lease_events_total', { account: 'prod', event: 'fired' })).toBe(3);
      expect(sampleValue(m, 'bb_reaper_lease_events_total', { account: 'prod', event: 'released' })).toBe(2);
      expect(sampleValue(m, 'bb_reaper_lease_events_total', { account: 'default', event: 'created' })).toBe(1);
      expect(sampleValue(m, 'bb_reaper_leases_active', { account: 'default' })).toBe(1);
      expect(sampleValue(m, 'bb_reaper_leases_active', { account: 'prod' })).toBe(0);

      const everything = procs.map((p) => p.stdout() + p.stderr()).join('') + created.stdout + JSON.stringify(results);
      expect(everything).not.toContain(PROD_KEY);
      expect(everything).not.toContain(DEFAULT_KEY);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      for (const p of procs) await p.close();
      for (const a of ['default', 'prod']) await producer.queues.closeQueueFor(a).obliterate({ force: true });
      await producer.close();
    }
  });
});
