import { expect } from 'vitest';
import { waitForCloses } from '../../src/ops/wait-for-closes.js';
import { closeJobId } from '../../src/shared/names.js';
import { getQueueStats } from '../../src/shared/queues.js';
import { listDeadLetters } from '../../src/worker/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli-process.js';
import { SIM_KEY, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

/** Flags every chaos worker gets: a dead worker's locks and limiter slots come back within seconds. */
export const FAST_RECOVERY = ['--lock-duration', '2000', '--request-timeout', '1500'];

/** Starts one real `bb-reaper worker` process on the fixture's queue (its Redis settings) and simulator. */
export function spawnWorker(p: PipelineFixture, args: string[], redisUrl = p.config.redisUrl): CliProcess {
  return spawnCli(['worker', '--no-ingress', ...FAST_RECOVERY, ...args], {
    env: { ...p.redisEnv, REDIS_URL: redisUrl, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url, LOG_LEVEL: 'error' },
  });
}

/** One SIGKILL of {@link killWorkersDuring}: the closes released when it struck, and how the victim ended. */
export interface WorkerKill {
  releasedAtKill: number;
  signal: string | null;
}

/**
 * Runs two worker processes and, each time the simulator has released `killAt[i]` closes, kills
 * one with SIGKILL and starts a fresh one beside the survivor. Returns the two workers running at
 * the end (stop them with {@link stopWorkers}) and the kills.
 */
export async function killWorkersDuring(p: PipelineFixture, args: string[], killAt: readonly number[]): Promise<{ workers: CliProcess[]; kills: WorkerKill[] }> {
  let workers: CliProcess[] = [spawnWorker(p, args), spawnWorker(p, args)];
  const kills: WorkerKill[] = [];
  for (const at of killAt) {
    await waitFor(`${at} closes released`, () => p.sim.stats().closes.released >= at, 120_000, 20);
    const [victim, survivor] = workers as [CliProcess, CliProcess];
    const releasedAtKill = p.sim.stats().closes.released;
    victim.kill('SIGKILL');
    const { signal } = await victim.exited;
    await victim.close();
    kills.push({ releasedAtKill, signal });
    workers = [survivor, spawnWorker(p, args)];
  }
  return { workers, kills };
}

/** Two-stage-shutdown check: SIGTERM each worker; each must exit 0. */
export async function stopWorkers(workers: CliProcess[]): Promise<void> {
  for (const w of workers) w.kill('SIGTERM');
  const exits = await Promise.all(workers.map((w) => w.exited));
  for (const w of workers) await w.close();
  expect(exits.map((e) => e.code), workers.map((w) => w.stderr()).join('\n')).toEqual(workers.map(() => 0));
}

export interface ChaosCounts {
  enqueued: number;
  closed: number;
  deadLettered: number;
  deadLetterCodes: Record<string, number>;
  apiRequests: number;
  byStatus: Record<string, number>;
  resets: number;
  hangs: number;
  releasedMoreThanOnce: number;
  /** Closes of sessions already ended (a close sent again after a crash): answered 200. */
  alreadyFinished: number;
  seconds: number;
}

/**
 * The invariants every fault must leave intact, checked from three independent places (the
 * close queue, the dead-letter queue and the simulator's own session states):
 * - every close is final: closed + dead-lettered == enqueued, nothing waiting, active, delayed
 *   or failed, and `waitForCloses` agrees;
 * - closed and dead-lettered sessions are disjoint and together are exactly the enqueued ones;
 * - every dead letter is parked with a readable reason, an error code and its attempt history;
 * - the simulator confirms every closed session is COMPLETED.
 * Returns the counts for the report.
 */
export async function verifyConservation(p: PipelineFixture, ids: string[], startedAt: number, { finalWithinMs = 180_000 } = {}): Promise<ChaosCounts> {
  const n = ids.length;
  await waitFor('every close final', async () => {
    const s = await getQueueStats(p.producer.queues);
    return s.completed + s.dead === n && s.waiting + s.active + s.delayed + s.failed === 0;
  }, finalWithinMs, 200);
  const seconds = (Date.now() - startedAt) / 1000;
  const stats = await getQueueStats(p.producer.queues);

  const completed = await p.producer.queues.closeQueue.getCompleted(0, -1);
  const closed = new Set(completed.map((j) => j.data.sessionId));
  expect(closed.size).toBe(stats.completed);

  await waitFor('every dead letter parked with its reason', async () => {
    const letters = await listDeadLetters(p.producer.queues, { start: 0, end: n });
    return letters.length === stats.dead && letters.every((l) => l.state === 'failed');
  }, 30_000, 200);
  const letters = await listDeadLetters(p.producer.queues, { start: 0, end: n });
  const dead = new Set(letters.map((l) => l.data.sessionId));
  const codes: Record<string, number> = {};
  for (const l of letters) {
    expect(l.failedReason ?? '', `dead letter ${l.id} has no reason`).toMatch(/\S/);
    expect(l.data.errorCode, `dead letter ${l.id} has no error code`).toMatch(/^[A-Z_]+$/);
    expect(l.data.message, `dead letter ${l.id} has no message`).toMatch(/\S/);
    expect(l.data.history.length, `dead letter ${l.id} has no attempt history`).toBeGreaterThan(0);
    codes[l.data.errorCode] = (codes[l.data.errorCode] ?? 0) + 1;
  }
  expect(dead.size).toBe(letters.length);

  // conservation: every enqueued session is exactly one of closed / dead-lettered
  expect(closed.size + dead.size).toBe(n);
  for (const id of ids) expect(closed.has(id) !== dead.has(id), `session ${id} closed=${closed.has(id)} dead=${dead.has(id)}`).toBe(true);

  // the product's own follower agrees
  const report = await waitForCloses(p.producer, ids.map(closeJobId), { pollMs: 100 });
  expect({ pending: report.pending, final: report.closed + report.alreadyGone + report.deadLettered }).toEqual({ pending: 0, final: n });
  expect(report.deadLettered).toBe(dead.size);

  // the simulator confirms every close reported as done
  await waitFor('every closed session COMPLETED in the simulator', () => [...closed].every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 10_000, 100);

  const sim = p.sim.stats();
  return {
    enqueued: n,
    closed: closed.size,
    deadLettered: dead.size,
    deadLetterCodes: codes,
    apiRequests: sim.requests.total,
    byStatus: sim.requests.byStatus,
    resets: sim.requests.resets,
    hangs: sim.requests.hangs,
    releasedMoreThanOnce: sim.closes.releasedMoreThanOnce,
    alreadyFinished: sim.closes.alreadyFinished,
    seconds: Math.round(seconds * 10) / 10,
  };
}

/** One line per scenario in the test output; docs/reliability.md quotes these. */
export function reportChaos(name: string, counts: ChaosCounts & Record<string, unknown>): void {
  console.log(`[chaos] ${name} ${JSON.stringify(counts)}`);
}
