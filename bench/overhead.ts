import { createProducer } from '../src/producer/index.js';
import { processCpuMs, type Child } from './lib/child.js';
import { followDrain, steadyRate } from './lib/drain.js';
import { benchPrefix, fixed, median, ratio, type Bench, type BenchContext, type BenchResult } from './lib/report.js';
import { startSimProcess } from './lib/sim-process.js';
import { startCliWorkers, startRawWorker } from './lib/workers.js';
import { redisCommandCounts } from './lib/redis-commands.js';

const CLOSES = 10_000;
const CONCURRENCY = 50;
const ROUNDS = 2;

interface Run {
  rate: number;
  workerCpuPerClose: number;
  redisCpuPerClose: number;
  redisCommandsPerClose: number;
  redisScriptsPerClose: number;
  /** Commands per close by name (inside scripts too). */
  byCommand: Map<string, number>;
}

/** Targets of issue 15 for the bb-reaper worker in this benchmark. */
export const OVERHEAD_TARGETS = { minRatio: 0.6, maxCommandsPerClose: 35, maxScriptsPerClose: 1.5 } as const;

async function drainOnce(ctx: BenchContext, kind: 'raw' | 'bb-reaper'): Promise<Run> {
  const sim = await startSimProcess();
  const prefix = benchPrefix(`overhead-${kind}`);
  const producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
  let worker: Child | undefined;
  try {
    const ids = await sim.seed(CLOSES);
    const target = { redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, concurrency: CONCURRENCY };
    worker = kind === 'raw' ? await startRawWorker(target) : (await startCliWorkers(1, { ...target, redis: producer.redis, rate: 10_000 }))[0];
    // enqueue into the paused queue so the counters below see only the drain
    await producer.queues.closeQueue.pause();
    await producer.closeSessions(ids);
    const cpu0 = worker?.cpuMs() ?? 0;
    const redis0 = processCpuMs(ctx.redisPid);
    const commands0 = await redisCommandCounts(producer.redis);
    await producer.queues.closeQueue.resume();
    const drain = await followDrain(sim, (s) => s.closes.released >= CLOSES, { everyMs: 25 });
    const cpu = (worker?.cpuMs() ?? 0) - cpu0;
    const redisCpu = processCpuMs(ctx.redisPid) - redis0;
    const commands1 = await redisCommandCounts(producer.redis);
    return {
      rate: steadyRate(drain.samples, CLOSES),
      workerCpuPerClose: cpu / CLOSES,
      redisCpuPerClose: redisCpu / CLOSES,
      redisCommandsPerClose: (commands1.all - commands0.all) / CLOSES,
      redisScriptsPerClose: (commands1.scripts - commands0.scripts) / CLOSES,
      byCommand: new Map([...commands1.byCommand].map(([c, n]) => [c, (n - (commands0.byCommand.get(c) ?? 0)) / CLOSES])),
    };
  } finally {
    await worker?.stop();
    await producer.close();
    await sim.close();
  }
}

export const overheadBench: Bench = {
  name: 'overhead',
  summary: `drain ${CLOSES} closes, limiter far above the workload, vs a raw BullMQ worker calling undici (concurrency ${CONCURRENCY})`,
  async run(ctx): Promise<BenchResult> {
    const runs: Record<'raw' | 'bb-reaper', Run[]> = { raw: [], 'bb-reaper': [] };
    for (let round = 1; round <= ROUNDS; round++) {
      const order: Array<'raw' | 'bb-reaper'> = round % 2 === 1 ? ['raw', 'bb-reaper'] : ['bb-reaper', 'raw'];
      for (const kind of order) {
        const r = await drainOnce(ctx, kind);
        runs[kind].push(r);
        ctx.log(`overhead: round ${round} ${kind} ${fixed(r.rate, 0)} closes/s, worker ${fixed(r.workerCpuPerClose, 3)} ms CPU/close`);
      }
    }
    const sum = (kind: 'raw' | 'bb-reaper') => ({
      rate: median(runs[kind].map((r) => r.rate)),
      cpu: median(runs[kind].map((r) => r.workerCpuPerClose)),
      redis: median(runs[kind].map((r) => r.redisCpuPerClose)),
      commands: median(runs[kind].map((r) => r.redisCommandsPerClose)),
      scripts: median(runs[kind].map((r) => r.redisScriptsPerClose)),
    });
    const raw = sum('raw');
    const bb = sum('bb-reaper');
    // Where the commands go, by name, in the last run of each (INFO commandstats counts the
    // commands scripts run too): what bb-reaper adds to the raw worker's.
    const last = (kind: 'raw' | 'bb-reaper') => runs[kind][runs[kind].length - 1]?.byCommand ?? new Map<string, number>();
    const [rawBy, bbBy] = [last('raw'), last('bb-reaper')];
    const names = [...new Set([...rawBy.keys(), ...bbBy.keys()])]
      .map((c) => ({ c, raw: rawBy.get(c) ?? 0, bb: bbBy.get(c) ?? 0 }))
      .filter((x) => x.raw >= 0.005 || x.bb >= 0.005)
      .sort((a, b) => b.bb - a.bb || b.raw - a.raw);
    const ratioToRaw = bb.rate / raw.rate;
    return {
      name: 'overhead',
      title: 'overhead: the price of the limiter and the bookkeeping',
      tables: [
        {
          caption: `${CLOSES} closes per run, simulator without limit or latency, median of ${ROUNDS} alternating runs; CPU from /proc over the drain`,
          header: ['worker', 'closes/s', 'vs raw', 'worker CPU ms/close', 'Redis CPU ms/close', 'Redis commands/close (in scripts too)', 'Lua scripts/close', 'runs closes/s'],
          rows: [
            [`raw BullMQ Worker + undici (concurrency ${CONCURRENCY})`, fixed(raw.rate, 0), '1.00x', fixed(raw.cpu, 3), fixed(raw.redis, 3), fixed(raw.commands, 1), fixed(raw.scripts, 1), runs.raw.map((r) => fixed(r.rate, 0)).join(' / ')],
            [`bb-reaper worker --rate 10000 --concurrency ${CONCURRENCY}`, fixed(bb.rate, 0), ratio(bb.rate / raw.rate), fixed(bb.cpu, 3), fixed(bb.redis, 3), fixed(bb.commands, 1), fixed(bb.scripts, 1), runs['bb-reaper'].map((r) => fixed(r.rate, 0)).join(' / ')],
          ],
        },
        {
          caption: 'Redis commands per close by name, last run of each (commands run by scripts included)',
          header: ['command', 'raw', 'bb-reaper', 'difference'],
          rows: names.map((x) => [x.c, fixed(x.raw, 2), fixed(x.bb, 2), fixed(x.bb - x.raw, 2)]),
        },
      ],
      targets: [
        { what: "bb-reaper closes/s vs the raw worker's", value: ratio(ratioToRaw), target: `>= ${OVERHEAD_TARGETS.minRatio}x`, met: ratioToRaw >= OVERHEAD_TARGETS.minRatio },
        { what: 'bb-reaper Redis commands per close', value: fixed(bb.commands, 1), target: `<= ${OVERHEAD_TARGETS.maxCommandsPerClose}`, met: bb.commands <= OVERHEAD_TARGETS.maxCommandsPerClose },
        { what: 'bb-reaper Lua scripts per close', value: fixed(bb.scripts, 2), target: `<= ${OVERHEAD_TARGETS.maxScriptsPerClose}`, met: bb.scripts <= OVERHEAD_TARGETS.maxScriptsPerClose },
      ],
      notes: [`bb-reaper drains at ${ratio(ratioToRaw)} the raw worker's rate and spends ${ratio(bb.cpu / raw.cpu)} its worker CPU and ${ratio(bb.redis / raw.redis)} its Redis CPU per close`],
    };
  },
};
