import { describe, expect, it } from 'vitest';
import { acquireLeases, readLeaseCounts } from '../../src/leases/lease-store.js';
import { freePort } from '../../src/shared/redis-server.js';
import { leaseKeys } from '../../src/shared/names.js';
import { readResults } from '../../src/results/index.js';
import { startWorkerService } from '../../src/worker/service.js';
import { runCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';
import { SIM_KEY, startPipeline, testLogger, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

const envOf = (p: PipelineFixture, extra: Record<string, string> = {}) => ({
  REDIS_URL: p.config.redisUrl,
  BB_REAPER_PREFIX: p.prefix,
  BROWSERBASE_API_KEY: SIM_KEY,
  BROWSERBASE_BASE_URL: p.sim.url,
  ...extra,
});

describe('bb-reaper lease', () => {
  it('creates and renews leases, lists them, releases one (closing it now) and cancels another', async () => {
    const p = await startPipeline();
    const [a, b] = p.sim.createSessions(2) as [string, string];
    const env = envOf(p);
    const created = await runCli(['lease', a, b, '--ttl', '10m', '--request-id', 'nightly'], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^${a}  created: closes in 10m \\(at \\S+\\) unless renewed$`, 'm'));
    expect(created.stderr).toMatch(/no worker is running under prefix/);
    const renewed = await runCli(['lease', a, '--ttl', '1h'], { env });
    expect(renewed.code).toBe(0);
    expect(renewed.stdout).toMatch(new RegExp(`^${a}  renewed: closes in 1h \\(at \\S+\\) unless renewed \\(renewal 1\\)$`, 'm'));

    const list = await runCli(['lease', '--list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^2 pending leases$/m);
    expect(list.stdout).toMatch(/^SESSION\s+ACCOUNT\s+EXPIRES IN\s+EXPIRES AT\s+RENEWALS\s+REQUEST ID$/m);
    expect(list.stdout).toMatch(new RegExp(`^${b}\\s+default\\s+(9m5\\ds|10m)\\s+\\S+\\s+0\\s+nightly$`, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${a}\\s+default\\s+(59m5\\ds|1h)\\s+\\S+\\s+1\\s+nightly$`, 'm'));
    const json = JSON.parse((await runCli(['lease', '--list', '--json'], { env })).stdout) as { total: number; leases: Array<{ sessionId: string; renewals: number }> };
    expect(json.total).toBe(2);
    expect(json.leases.map((l) => l.sessionId)).toEqual([b, a]);

    const released = await runCli(['lease', '--release', a], { env });
    expect(released.code).toBe(0);
    expect(released.stdout).toBe(`${a}  released: closing now\n`);
    expect(await p.producer.queues.closeQueue.getWaitingCount()).toBe(1);
    const cancelled = await runCli(['lease', '--cancel', b, '--json'], { env });
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ outcomes: [{ sessionId: b, status: 'cancelled' }], invalid: [], failed: 0 });
    expect(await p.producer.queues.closeQueue.getDelayedCount()).toBe(0);
    // renewing the released lease says so and exits 1
    const late = await runCli(['lease', a, '--ttl', '10m'], { env });
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(new RegExp(`^${a}  the lease was already released at \\S+: its close is pending or done$`, 'm'));
    // cancelling what has no lease: exit 1; a second cancel of the same lease: fine
    expect((await runCli(['lease', '--cancel', 'never-leased'], { env })).code).toBe(1);
    expect((await runCli(['lease', '--cancel', b], { env })).code).toBe(0);
    expect(await readLeaseCounts(p.producer.redis, p.prefix)).toMatchObject({ active: 0, created: 2, renewed: 1, released: 1, cancelled: 1 });
    await p.close();
  });

  it('renewing a lease that already fired says so and exits 1; a lease on a session whose close is pending is a no-op, exit 0', async () => {
    const p = await startPipeline();
    const [fired, closing] = p.sim.createSessions(2) as [string, string];
    const service = track(await startWorkerService({ config: p.config, logger: testLogger(), ingress: false, sweeps: false }), 'worker service');
    await acquireLeases({ queue: p.producer.queues.closeQueue, redis: p.producer.redis }, [fired], 10_000, { now: Date.now() - 9_700 });
    await waitFor('the lease fired', async () => (await readResults({ redis: p.producer.redis, prefix: p.prefix })).some((r) => r.sessionId === fired), 20_000);
    const env = envOf(p);
    const r = await runCli(['lease', fired, '--ttl', '10m'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${fired}  the lease already fired at its deadline \\S+ \\(\\d+s ago\\): its close is pending or done$`, 'm'));
    expect((await runCli(['lease', '--release', fired], { env })).code).toBe(0); // already closing: fine
    await service.close();
    await p.producer.closeSession(closing);
    const noop = await runCli(['lease', closing, '--ttl', '10m', '--json'], { env });
    expect(noop.code).toBe(0);
    expect(JSON.parse(noop.stdout)).toMatchObject({ outcomes: [{ sessionId: closing, status: 'close_pending' }], failed: 0 });
    await p.close();
  });

  it('bad input is a clear error, exit 2, and changes nothing (valid ids beside an invalid one are still leased)', async () => {
    const p = await startPipeline();
    const env = envOf(p);
    const cases: Array<[string[], RegExp]> = [
      [['lease', 'x1', '--ttl', '5s'], /^bb-reaper: Expected `--ttl` to be a duration from 10s to 6h \(the longest a Browserbase session runs\), such as `90s` or `10m`, got `5s`$/m],
      [['lease', 'x1', '--ttl', '7h'], /got `7h`$/m],
      [['lease', 'x1', '--ttl', 'soon'], /got `soon`$/m],
      [['lease', 'x1'], /give --ttl <duration>/],
      [['lease', '--ttl', '1m'], /nothing to lease/],
      [['lease', 'x1', '--release', '--cancel'], /give one of --release and --cancel/],
      [['lease', 'x1', '--cancel', '--ttl', '1m'], /--ttl does not go with --cancel/],
      [['lease', '--list', 'x1'], /--list takes no ids/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args, { env })));
    cases.forEach(([args, message], i) => {
      expect({ args, code: runs[i]?.code }).toEqual({ args, code: 2 });
      expect(runs[i]?.stderr).toMatch(message);
    });
    expect(await p.producer.queues.closeQueue.getDelayedCount()).toBe(0);
    const mixed = await runCli(['lease', 'good-1', 'bad/id', '--ttl', '1m'], { env });
    expect(mixed.code).toBe(2);
    expect(mixed.stdout).toMatch(/^good-1 {2}created/m);
    expect(mixed.stderr).toMatch(/^invalid "?bad\/id"? — invalid session id: contains the character `\/`/m);
    expect(await p.producer.queues.closeQueue.getDelayedCount()).toBe(1);
    await p.close();
  });
});

describe('bb-reaper sessions create --lease', () => {
  it('registers the lease right after the create', async () => {
    const p = await startPipeline();
    const env = envOf(p);
    const r = await runCli(['sessions', 'create', '--lease', '15m'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lease\s+created: closes in 15m \(at \S+\) unless renewed$/m);
    const id = /^id\s+(\S+)$/m.exec(r.stdout)?.[1] as string;
    expect(p.sim.getSession(id)?.status).toBe('RUNNING');
    expect(await p.producer.redis.zscore(leaseKeys(p.prefix).deadlines, `close-${id}`)).not.toBeNull();
    const json = await runCli(['sessions', 'create', '--lease', '90s', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'RUNNING', lease: { status: 'created', expiresAt: expect.any(Number) } });
    const bad = await runCli(['sessions', 'create', '--lease', '1s'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Expected `--lease` to be a duration from 10s to 6h/);
    expect(p.sim.stats().sessions.RUNNING).toBe(2); // the bad flag created nothing
    await p.close();
  });

  it('closes the new session at once when its lease cannot be registered; creates nothing when Redis is unreachable', async () => {
    const p = await startPipeline();
    // the lease index holds a value of another type: every lease script fails
    await p.producer.redis.set(leaseKeys(p.prefix).deadlines, 'not a sorted set');
    const r = await runCli(['sessions', 'create', '--lease', '15m'], { env: envOf(p) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bb-reaper: the lease of the new session (\S+) could not be registered \(.*WRONGTYPE.*\), so the session was closed at once$/m);
    const id = /new session (\S+) could not/.exec(r.stderr)?.[1] as string;
    await waitFor('the session ended', () => p.sim.getSession(id)?.status === 'COMPLETED', 10_000);

    const down = await runCli(['sessions', 'create', '--lease', '15m'], { env: envOf(p, { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }) });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach Redis/);
    expect(p.sim.stats().requests.byStatus['201'] ?? 0).toBe(1);
    await p.close();
  });
});
