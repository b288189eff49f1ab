import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { SIM_KEY, startPipeline, type PipelineFixture, seedSessions } from '../helpers/pipeline.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

async function pipeline(concurrencyLimit: number): Promise<{ p: PipelineFixture; env: Record<string, string> }> {
  const p = await startPipeline({ sim: { concurrencyLimit } });
  cleanups.push(() => p.close());
  return { p, env: { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url } };
}

const seed = seedSessions;

describe('bb-reaper slots', () => {
  it('shows the concurrency, sessions in use, free slots, the oldest sessions with age and metadata, and pending closes (table and --json)', async () => {
    const { p, env } = await pipeline(5);
    const [old] = await seed(p, { count: 1, startedAgoSeconds: 3 * 3600, userMetadata: { owner: 'nightly' } });
    await seed(p, { count: 2, startedAgoSeconds: 90, status: 'PENDING' });
    await p.producer.closeSessions(['queued-a', 'queued-b']);

    const json = await runCli(['slots', '--json'], { env });
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(r).toMatchObject({ project: { id: 'sim-project', concurrency: 5 }, active: { running: 1, pending: 2 }, free: 2, pendingCloses: 2 });
    expect(r.oldest).toHaveLength(3);
    expect(r.oldest[0]).toMatchObject({ id: old, status: 'RUNNING', userMetadata: { owner: 'nightly' } });
    expect(r.oldest[0].ageMs).toBeGreaterThanOrEqual(3 * 3600_000);

    const human = await runCli(['slots', '--limit', '1'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^project\s+sim-project, concurrency 5\n/);
    expect(human.stdout).toMatch(/slots\s+3 in use \(1 running, 2 pending\), 2 free/);
    expect(human.stdout).toMatch(/pending closes 2 /);
    expect(human.stdout).toContain('oldest 1 of 3:');
    expect(human.stdout).toMatch(/SESSION\s+STATUS\s+AGE\s+STARTED AT\s+METADATA\n/);
    expect(human.stdout).toMatch(new RegExp(`${old}\\s+RUNNING\\s+3h00m\\s+\\S+\\s+\\{"owner":"nightly"\\}`));
  });

  it('a terminal escape in a session\'s user metadata is shown, not sent to the terminal', async () => {
    const { p, env } = await pipeline(3);
    await seed(p, { count: 1, userMetadata: { note: '\u001b]0;pwned\u0007\u001b[2J' } });
    const human = await runCli(['slots'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain('\u001b');
    expect(human.stdout).not.toContain('\u0007');
    expect(human.stdout).toContain('\\u001b');
    const json = await runCli(['slots', '--json'], { env });
    expect(json.stdout).not.toContain('\u001b');
    expect((JSON.parse(json.stdout) as { oldest: Array<{ userMetadata: { note: string } }> }).oldest[0]?.userMetadata.note).toBe('\u001b]0;pwned\u0007\u001b[2J');
  });

  it('needs the API key (exit 2 naming BROWSERBASE_API_KEY), checks --limit (exit 2) and reports a refused key in one line (exit 1)', async () => {
    const { env } = await pipeline(3);
    const { BROWSERBASE_API_KEY: _key, ...noKey } = env;
    const missing = await runCli(['slots'], { env: noKey });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/BROWSERBASE_API_KEY/);
    const badLimit = await runCli(['slots', '--limit', '0'], { env });
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/`--limit`.*got `0`/);
    const refused = await runCli(['slots'], { env: { ...env, BROWSERBASE_API_KEY: 'revoked-key' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^bb-reaper: .*\[REJECTED\]\n$/);
    expect(refused.stderr).not.toContain('revoked-key');
    expect(refused.stdout).toBe('');
  });
});
