import { acquireLeases, renewLease, type LeaseTarget } from '../src/leases/lease-store.js';
import { createProducer, type Producer } from '../src/producer/index.js';
import { readResults } from '../src/results/index.js';
import { createBrowserbaseClient } from '../src/browserbase/index.js';
import { CLOSE_JOB_NAME, keys, leaseKeys } from '../src/shared/names.js';
import type { Child } from './lib/child.js';
import { benchPrefix, fixed, percentile, ratio, waitUntil, type Bench, type BenchContext, type BenchResult } from './lib/report.js';
import { SIM_KEY, startSimProcess } from './lib/sim-process.js';
import { startCliWorkers, stopAll } from './lib/workers.js';
import { redisCommandCounts } from './lib/redis-commands.js';

const LEASES = 10_000;
/** Deadlines are spread uniformly over this window, starting at the shortest TTL. */
const WINDOW_MS = 60_000;
const MIN_TTL_MS = 10_000;
const WORKERS = 2;
const RATE = 1000;
const CONCURRENCY = 100;
const RENEWALS = 5_000;

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/**
 * Redis commands per renewal: `RENEWALS` renewals of 1,000 pending leases, one at a time, with
 * nothing else talking to Redis; against BullMQ's own `changeDelay` of a plain delayed job (which
 * moves the job only, with no lease to keep consistent).
 */
async function renewalCost(ctx: BenchContext): Promise<{ lease: { all: number; scripts: number; perSecond: number }; changeDelay: { all: number; scripts: number } }> {
  const producer = createProducer({ redisUrl: ctx.redisUrl, prefix: benchPrefix('lease-renew') });
  try {
    const target: LeaseTarget = { queue: producer.queues.closeQueue, redis: producer.redis };
    const ids = Array.from({ length: 1000 }, (_, i) => `renew-${i}`);
    await acquireLeases(target, ids, 600_000);
    const plain = await Promise.all(ids.slice(0, 100).map((id) => producer.queues.closeQueue.add(CLOSE_JOB_NAME, { sessionId: id, enqueuedAt: Date.now() }, { jobId: `plain-${id}`, delay: 600_000 })));
    const c0 = await redisCommandCounts(producer.redis);
    const t0 = Date.now();
    for (let i = 0; i < RENEWALS; i++) await renewLease(target, ids[i % ids.length] as string, 600_000);
    const seconds = (Date.now() - t0) / 1000;
    const c1 = await redisCommandCounts(producer.redis);
    for (let i = 0; i < 1000; i++) await plain[i % plain.length]?.changeDelay(600_000);
    const c2 = await redisCommandCounts(producer.redis);
    // each INFO is itself one command
    return {
      lease: { all: (c1.all - c0.all - 1) / RENEWALS, scripts: (c1.scripts - c0.scripts) / RENEWALS, perSecond: RENEWALS / seconds },
      changeDelay: { all: (c2.all - c1.all - 1) / 1000, scripts: (c2.scripts - c1.scripts) / 1000 },
    };
  } finally {
    await producer.queues.closeQueue.obliterate({ force: true }).catch(() => {});
    await producer.close();
  }
}

interface FireRun {
  /** When a worker took the close (the lease's `takenAt`, written as the worker starts on it) minus the deadline, ms. */
  taken: number[];
  /** When the simulator received the close (the session's `endedAt`; released sessions end at once) minus the deadline, ms. */
  arrived: number[];
  /** When the close was answered (results stream `finished_at`) minus the deadline, ms. */
  closed: number[];
  /** Leases whose close a worker took, or the API received, before the deadline; or that did not end as `fired`. */
  early: number;
  createSeconds: number;
}

/** `LEASES` leases with deadlines uniform over `WINDOW_MS`, fired by `WORKERS` real worker processes. */
async function fireRun(ctx: BenchContext): Promise<FireRun> {
  // Released sessions end at once: a session's `endedAt` is when the API received its close.
  const sim = await startSimProcess({ releaseDelayMs: 0 });
  const prefix = benchPrefix('leases');
  const producer: Producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
  let workers: Child[] = [];
  try {
    const ids = await sim.seed(LEASES);
    workers = await startCliWorkers(WORKERS, { redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, redis: producer.redis, rate: RATE, concurrency: CONCURRENCY });
    const target: LeaseTarget = { queue: producer.queues.closeQueue, redis: producer.redis };
    const deadlines = new Map<string, number>();
    const t0 = Date.now();
    await pool(ids, 20, async (id) => {
      const { outcomes } = await acquireLeases(target, [id], MIN_TTL_MS + Math.floor(Math.random() * WINDOW_MS));
      deadlines.set(id, outcomes[0]?.expiresAt as number);
    });
    const createSeconds = (Date.now() - t0) / 1000;
    ctx.log(`leases: ${LEASES} leases created in ${fixed(createSeconds, 1)} s; waiting for them to fire`);
    await waitUntil('every lease fired and closed', async () => (await producer.redis.xlen(keys(prefix).results)) >= LEASES, MIN_TTL_MS + WINDOW_MS + 120_000, 500);
    const results = await readResults({ redis: producer.redis, prefix, count: LEASES + 10 });
    const pipeline = producer.redis.pipeline();
    for (const r of results) pipeline.hget(leaseKeys(prefix).lease(r.jobId), 'takenAt');
    const takenAt = ((await pipeline.exec()) ?? []).map(([, v]) => Number(v));
    const client = createBrowserbaseClient({ apiKey: SIM_KEY, baseUrl: sim.url });
    const arrivedAt = new Map<string, number>();
    await pool(results, 50, async (r) => {
      arrivedAt.set(r.sessionId, Date.parse(String((await client.getSession(r.sessionId)).endedAt)));
    });
    await client.close();
    const run: FireRun = { taken: [], arrived: [], closed: [], early: 0, createSeconds };
    results.forEach((r, i) => {
      const deadline = deadlines.get(r.sessionId) as number;
      const taken = (takenAt[i] as number) - deadline;
      const arrived = (arrivedAt.get(r.sessionId) as number) - deadline;
      run.taken.push(taken);
      run.arrived.push(arrived);
      run.closed.push(r.finishedAt - deadline);
      if (!(taken >= 0) || !(arrived >= 0) || r.leaseEnd !== 'fired') run.early++;
    });
    return run;
  } finally {
    await stopAll(workers);
    await producer.close();
    await sim.close();
  }
}

const row = (label: string, xs: number[]) => [label, fixed(percentile(xs, 50), 0), fixed(percentile(xs, 99), 0), fixed(Math.max(...xs), 0), fixed(Math.min(...xs), 0)];

export const leasesBench: Bench = {
  name: 'leases',
  summary: `${LEASES} leases with deadlines spread over ${WINDOW_MS / 1000} s fired by ${WORKERS} workers: lateness p50/p99/max; Redis commands per renewal`,
  async run(ctx): Promise<BenchResult> {
    const cost = await renewalCost(ctx);
    ctx.log(`leases: renewal ${fixed(cost.lease.all, 1)} commands (${fixed(cost.lease.scripts, 2)} scripts), ${fixed(cost.lease.perSecond, 0)} renewals/s one at a time`);
    const run = await fireRun(ctx);
    const p99 = percentile(run.arrived, 99);
    return {
      name: 'leases',
      title: 'leases: firing on time, and what a renewal costs',
      tables: [
        {
          caption: `${LEASES} leases, deadlines uniform over ${MIN_TTL_MS / 1000}..${(MIN_TTL_MS + WINDOW_MS) / 1000} s after creation (created in ${fixed(run.createSeconds, 1)} s), ${WORKERS} \`bb-reaper worker\` processes --rate ${RATE} --concurrency ${CONCURRENCY}, simulator without limit; ms after the deadline`,
          header: ['measured', 'p50 ms', 'p99 ms', 'max ms', 'min ms'],
          rows: [
            row('a worker took the close (the lease fired)', run.taken),
            row('the API received the close', run.arrived),
            row('the API answered it (results stream)', run.closed),
          ],
        },
        {
          caption: `Redis commands per renewal, ${RENEWALS} renewals one at a time (INFO commandstats; commands inside scripts included)`,
          header: ['step', 'commands', 'round trips (scripts)', 'renewals/s'],
          rows: [
            ['lease renewal (deadline, index, count, event: one script)', fixed(cost.lease.all, 1), fixed(cost.lease.scripts, 2), fixed(cost.lease.perSecond, 0)],
            ['BullMQ job.changeDelay (baseline: the job only)', fixed(cost.changeDelay.all, 1), fixed(cost.changeDelay.scripts, 2), '-'],
          ],
        },
      ],
      targets: [
        { what: 'leases whose close was taken or sent before the deadline (or that did not fire)', value: String(run.early), target: '0', met: run.early === 0 },
        { what: 'p99 lateness of the close reaching the API', value: `${fixed(p99, 0)} ms`, target: '≤ 1000 ms', met: p99 <= 1000 },
      ],
      notes: [`a renewal is one script of ${fixed(cost.lease.all, 1)} commands, ${ratio(cost.lease.all / cost.changeDelay.all)} BullMQ's changeDelay of the job alone`],
    };
  },
};
