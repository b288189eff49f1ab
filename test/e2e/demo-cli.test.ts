import { createRedis } from '../../src/shared/redis.js';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server.js';
import { runCli } from '../helpers/cli-process.js';
import { testRedisUrl, trackRedis } from '../helpers/context.js';

describe('bb-reaper demo', () => {
  it('runs to completion on a shared Redis under a private prefix, prints a JSON summary, and leaves no keys behind', async () => {
    const r = await runCli(['demo', '--sessions', '300', '--json', '--no-hold'], { env: { REDIS_URL: testRedisUrl() }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown> & { deadLetters: Array<{ sessionId: string }> };
    expect(s).toMatchObject({ sessions: 300, malformed: 2, deadLettered: 2, pending: 0, redis: 'external', interrupted: false });
    expect((s.closed as number) + (s.alreadyGone as number)).toBe(300);
    expect(s.alreadyGone).toBeGreaterThan(0);
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
    expect(r.stdout).toMatch(/^ {2}redis\s+embedded/m);
  });

  it('rejects bad options with exit 2', async () => {
    const r = await runCli(['demo', '--sessions', '0'], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/`--sessions` to be an integer from 1 to 100000, got `0`/);
  });
});
