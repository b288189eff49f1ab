import { createRedis } from '../../src/shared/redis.js';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';
import { testRedisUrl, trackRedis } from '../helpers/context.js';

describe('bb-reaper demo', () => {
  it('runs to completion on a shared Redis under a private prefix, prints a JSON summary, and leaves no keys behind', async () => {
    const r = await runCli(['demo', '--sessions', '300', '--json', '--no-hold'], { env: { REDIS_URL: testRedisUrl() }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown> & { deadLetters: Array<{ sessionId: string }> };
    expect(s).toMatchObject({ sessions: 300, malformed: 2, deadLettered: 2, pending: 0, redis: 'external', interrupted: false });
    expect((s.closed as number) + (s.alreadyGone as number)).toBe(300);
    expect(s.alreadyGone).toBeGreaterThan(0);
    // Simulated sessions expire an hour after they start: each one closed saved almost all of it (an upper bound).
    expect(s.minutesSaved).toBeGreaterThan((s.closed as number) * 59);
    expect(s.minutesSaved).toBeLessThanOrEqual((s.closed as number) * 60);
    // The 5xx burst hit some closes, and each was retried.
    expect(s.http5xx).toBeGreaterThan(0);
    expect(s.retries).toBe(s.http5xx);
    expect(s.deadLetters.map((d) => d.sessionId).sort()).toEqual(['../../v1/projects', 'sess_1?status=COMPLETED']);
    expect(String(s.uiUrl)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui$/);
    expect(String(s.prefix)).toMatch(/^bb-reaper-demo-[0-9a-f]{8}$/);
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const [, leftover] = await redis.scan('0', 'MATCH', `${String(s.prefix)}:*`, 'COUNT', 10_000);
    await redis.quit();
    expect(leftover).toEqual([]);
  });

  it('starts an embedded redis-server when none answers, and prints a human summary with retries and dead letters', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const r = await runCli(['demo', '--sessions', '200', '--no-ui'], { env: { REDIS_URL: dead }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/redis: none answered at redis:\/\/127\.0\.0\.1:\d+; started an embedded redis-server at redis:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/bb-reaper demo: 200 simulated sessions \+ 2 malformed ids/);
    expect(r.stdout).toMatch(/^ {2}closed\s+\d+/m);
    expect(r.stdout).toMatch(/^ {2}dead-lettered\s+2\b/m);
    expect(r.stdout).toMatch(/^ {2}retries\s+\d+/m);
    expect(r.stdout).toMatch(/^ {2}saved\s+[\d.]+ browser minutes at most {3}\(an upper bound: from each close to the session's expiresAt\)$/m);
    expect(r.stdout).toMatch(/^ {2}redis\s+embedded/m);
  });

  it('stops cleanly on Ctrl-C: mid-run (exit 130, keys removed) and while holding the UI after the summary (exit 0)', async () => {
    const env = { REDIS_URL: testRedisUrl() };
    const mid = spawnCli(['demo', '--sessions', '20000', '--no-ui', '--no-hold'], { env });
    await mid.waitForOutput(/enqueued 20000 closes/, 60_000);
    mid.kill('SIGINT');
    expect((await mid.exited).code).toBe(130);
    expect(mid.stdout()).toMatch(/\(interrupted\)/);
    expect(mid.stdout()).toMatch(/still pending\s+[1-9]/);
    const prefix = /under the private prefix (\S+)/.exec(mid.stderr())?.[1];
    expect(prefix).toMatch(/^bb-reaper-demo-/);
    await mid.close();
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const [, leftover] = await redis.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 100_000);
    await redis.quit();
    expect(leftover).toEqual([]);

    const held = spawnCli(['demo', '--sessions', '100', '--hold'], { env });
    await held.waitForOutput(/queue UI: http:\/\/127\.0\.0\.1:\d+\/ui\s+\(dead letters/, 60_000);
    const url = /queue UI: (\S+)\s+\(dead letters/.exec(held.stderr())?.[1] as string;
    expect((await fetch(url)).status).toBe(200);
    held.kill('SIGINT');
    expect((await held.exited).code).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
    await held.close();
  });

  it('rejects bad options with exit 2', async () => {
    const r = await runCli(['demo', '--sessions', '0'], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/`--sessions` to be an integer from 1 to 100000, got `0`/);
  });
});
