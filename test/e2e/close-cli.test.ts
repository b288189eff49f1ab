import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { closeJobId } from '../../src/shared/names.js';
import { getQueueStats } from '../../src/shared/queues.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/wait.js';
import { testRedisUrl, track, uniquePrefix } from '../helpers/context.js';
import { startPipeline, testLogger, type PipelineFixture } from '../helpers/pipeline.js';
import { createCloseWorker } from '../../src/worker/index.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

async function pipeline(): Promise<PipelineFixture & { env: Record<string, string> }> {
  const p = await startPipeline();
  cleanups.push(async () => {
    await p.close();
  });
  return { ...p, env: { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix } };
}

async function jobExists(p: PipelineFixture, sessionId: string): Promise<boolean> {
  return (await p.producer.queues.closeQueue.getJob(closeJobId(sessionId))) !== undefined;
}

describe('bb-reaper close', () => {
  it('enqueues ids given as arguments and counts duplicates', async () => {
    const p = await pipeline();
    const r = await runCli(['close', 'sess-a', 'sess-b', 'sess-a'], { env: p.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('accepted 2, duplicate 1, invalid 0');
    expect(await jobExists(p, 'sess-a')).toBe(true);
    expect(await jobExists(p, 'sess-b')).toBe(true);
    const again = await runCli(['close', 'sess-a', '--json'], { env: p.env });
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: 1, invalidCount: 0 });
  });

  it('reads a file line by line: comments and blanks skipped, invalid lines reported with their number (exit 2), valid ones enqueued', async () => {
    const p = await pipeline();
    const dir = await mkdtemp(join(tmpdir(), 'bbr-close-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'ids.txt');
    await writeFile(file, '# orphans from the nightly run\nfile-1\n\n  file-2  \nbad/id\nfile-3\nhas space\n');
    const r = await runCli(['close', '--file', file, '--project-id', 'proj-1', '--request-id', 'req-9'], { env: p.env });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('accepted 3, duplicate 0, invalid 2');
    expect(r.stderr).toMatch(/invalid line 5: "bad\/id" — invalid session id: contains the character `\/`/);
    expect(r.stderr).toMatch(/invalid line 7: .*has.*space/);
    for (const id of ['file-1', 'file-2', 'file-3']) expect(await jobExists(p, id)).toBe(true);
    const job = await p.producer.queues.closeQueue.getJob(closeJobId('file-2'));
    expect(job?.data).toMatchObject({ sessionId: 'file-2', projectId: 'proj-1', requestId: 'req-9', source: 'cli' });
  });

  it('reads stdin (`-`) as lines or as a JSON array, reporting invalid elements by index', async () => {
    const p = await pipeline();
    const lines = await runCli(['close', '-', '--json'], { env: p.env, input: 'in-1\n#x\nin-2\n' });
    expect(lines.code).toBe(0);
    expect(JSON.parse(lines.stdout)).toMatchObject({ accepted: 2, duplicates: 0, invalidCount: 0, invalid: [] });
    const array = JSON.stringify(['arr-1', { sessionId: 'arr-2', requestId: 'r-2' }, 42, { sessionId: 'arr-3', color: 'red' }, '']);
    const r = await runCli(['close', '-', '--json'], { env: p.env, input: array });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { accepted: number; invalidCount: number; invalid: Array<{ where: string; reason: string }> };
    expect(out.accepted).toBe(2);
    expect(out.invalidCount).toBe(3);
    expect(out.invalid.map((i) => i.where)).toEqual(['element 3', 'element 4', 'element 5']);
    expect(out.invalid[1]?.reason).toMatch(/unknown field.*color/);
    expect((await p.producer.queues.closeQueue.getJob(closeJobId('arr-2')))?.data.requestId).toBe('r-2');
  });

  it('a 5,000-level nested array element no longer aborts a whole close --file run: it is reported by number, the valid ones are enqueued', async () => {
    const p = await pipeline();
    const dir = await mkdtemp(join(tmpdir(), 'bbr-close-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'ids.json');
    const poison = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    await writeFile(file, `["deep-1", ${poison}, {"sessionId": "deep-2"}, "deep-3"]`);
    const r = await runCli(['close', '--file', file], { env: p.env });
    expect(r.stderr).not.toMatch(/call stack/i);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('accepted 3, duplicate 0, invalid 1');
    expect(r.stderr).toMatch(/^invalid element 2: \[\[\[.*….*\]\]\] — expected a session id string or \{sessionId\}, got an array$/m);
    for (const id of ['deep-1', 'deep-2', 'deep-3']) expect(await jobExists(p, id)).toBe(true);
    const json = await runCli(['close', '--file', file, '--json'], { env: p.env });
    expect(json.code).toBe(2);
    const out = JSON.parse(json.stdout) as { accepted: number; duplicates: number; invalid: Array<{ where: string; input: string }> };
    expect(out).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(out.invalid).toEqual([expect.objectContaining({ where: 'element 2' })]);
    expect(out.invalid[0]?.input.length).toBeLessThan(100);
  });

  it('rejects bad usage with exit 2 and an unreachable Redis with exit 1, each with one clear line', async () => {
    const prefix = uniquePrefix('close');
    const env = { REDIS_URL: testRedisUrl(), BB_REAPER_PREFIX: prefix };
    const none = await runCli(['close'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/nothing to close/);
    const missing = await runCli(['close', '--file', '/nonexistent/ids.txt'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --file `\/nonexistent\/ids.txt`: no such file/);
    const badJson = await runCli(['close', '-'], { env, input: '["ok-1", "ok-2"' });
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/never closes.*inputs before it were enqueued/);
    const badTimeout = await runCli(['close', 'x', '--wait', '--wait-timeout', '5 minutes'], { env });
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toMatch(/`--wait-timeout`.*got `5 minutes`/);
    const down = await runCli(['close', 'x'], { env: { ...env, REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach Redis at redis:\/\/127.0.0.1:1/);
  });

  it('--wait follows the closes to the end: exit 0 when all closed or already gone', async () => {
    const p = await pipeline();
    const worker = await p.startWorker();
    cleanups.push(() => worker.close());
    const ids = p.sim.createSessions(30);
    const r = await runCli(['close', '-', '--wait'], { env: p.env, input: [...ids, 'never-existed-1'].join('\n') });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('accepted 31, duplicate 0, invalid 0');
    expect(r.stdout).toContain('closed 30, already gone 1, dead-lettered 0 (of 31)');
    // A release answered 200 is still RUNNING until the simulator's release delay passes: wait for the state.
    await waitFor('every released session to end COMPLETED', () => ids.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 10_000);
    expect(ids.every((id) => p.sim.getSession(id)?.status === 'COMPLETED')).toBe(true);
  });

  it('--wait stops on Ctrl-C (exit 130) or after --wait-timeout (exit 1), leaving the closes queued', async () => {
    const p = await pipeline();
    const waiting = spawnCli(['close', 'stays-1', '--wait'], { env: p.env });
    await waiting.waitForOutput(/no worker is running under prefix/);
    waiting.kill('SIGINT');
    expect((await waiting.exited).code).toBe(130);
    expect(waiting.stdout()).toContain('closed 0, already gone 0, dead-lettered 0, still pending 1 (of 1)');
    expect(waiting.stderr()).toMatch(/interrupted; the 1 pending closes stay queued/);
    await waiting.close();
    const timedOut = await runCli(['close', 'stays-2', '--wait', '--wait-timeout', '1s'], { env: p.env });
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/gave up waiting \(--wait-timeout\)/);
    expect(await jobExists(p, 'stays-1')).toBe(true);
    expect(await jobExists(p, 'stays-2')).toBe(true);
  });

  it('--wait exits 3 and names the dead letters when closes are dead-lettered; JSON output carries them', async () => {
    const p = await pipeline();
    // A worker with a key the API refuses: every close is REJECTED (401) and dead-lettered at once.
    const badClient = track(createBrowserbaseClient({ apiKey: 'revoked-key', baseUrl: p.sim.url }), 'client');
    cleanups.push(() => badClient.close());
    const worker = track(await createCloseWorker({ config: p.config, client: badClient, logger: testLogger() }), 'close worker');
    cleanups.push(() => worker.close());
    const ids = p.sim.createSessions(3);
    const r = await runCli(['close', ...ids, '--wait', '--json'], { env: p.env });
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout) as { wait: { deadLettered: number; deadLetters: Array<{ sessionId: string; errorCode: string; httpStatus: number }> } };
    expect(out.wait.deadLettered).toBe(3);
    expect(out.wait.deadLetters.map((d) => d.sessionId).sort()).toEqual([...ids].sort());
    expect(out.wait.deadLetters[0]).toMatchObject({ errorCode: 'REJECTED', httpStatus: 401 });
    // Not a TTY: progress goes to stderr as JSON lines, never to stdout.
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect((await getQueueStats(p.producer.queues)).dead).toBe(3);
    const human = await runCli(['close', ids[0] as string, '--wait'], { env: p.env });
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/dead-lettered 1 \(of 1\)/);
    expect(human.stdout).toMatch(/REJECTED \(HTTP 401\)/);
  });
});
