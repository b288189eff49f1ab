import { createProducer } from '../src/producer/index.js';
import { followDrain, steadyRate } from './lib/drain.js';
import { benchPrefix, fixed, ratio, type Bench, type BenchResult, type TargetCheck } from './lib/report.js';
import { startSimProcess } from './lib/sim-process.js';
import { startCliWorkers, stopAll } from './lib/workers.js';

const RATES = [10, 100, 1000];
const PROCESSES = [1, 4];
const SECONDS_OF_WORK = 10;
/** Simulated API latency, ms (uniform). */
const LATENCY: [number, number] = [5, 25];

/** Bucket size of the simulated limit: 200 ms worth of requests (at least 3). */
export const burstFor = (rate: number) => Math.max(3, Math.ceil(rate / 5));
/** Concurrency cap given to the workers: enough for the latency, not a bottleneck. */
const concurrencyFor = (rate: number) => Math.max(10, Math.ceil(rate / 10));

export const rateFidelityBench: Bench = {
  name: 'rate',
  summary: `simulator limit R = configured R, R in ${RATES.join('/')}/s, ${PROCESSES.join(' and ')} worker processes, ~${SECONDS_OF_WORK} s each`,
  async run(ctx): Promise<BenchResult> {
    const rows: string[][] = [];
    const targets: TargetCheck[] = [];
    for (const rate of RATES) {
      for (const processes of PROCESSES) {
        const n = rate * SECONDS_OF_WORK;
        const sim = await startSimProcess({ rate, burst: burstFor(rate), latencyMs: LATENCY });
        const prefix = benchPrefix(`rate${rate}x${processes}`);
        const producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
        try {
          const ids = await sim.seed(n);
          const workers = await startCliWorkers(processes, { redis: producer.redis, redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, rate, concurrency: concurrencyFor(rate) });
          ctx.log(`rate: R=${rate}/s, ${processes} process(es), ${n} closes`);
          await producer.closeSessions(ids);
          const drain = await followDrain(sim, (s) => s.closes.released >= n, { timeoutMs: SECONDS_OF_WORK * 10_000 });
          await stopAll(workers);
          const achieved = steadyRate(drain.samples, n);
          const s = drain.final;
          const r429 = s.requests.byStatus['429'] ?? 0;
          rows.push([String(rate), String(processes), String(n), fixed(achieved, 1), ratio(achieved / rate), String(r429), String(s.maxRequestsInAnySecond), `${s.maxInFlight}/${concurrencyFor(rate)}`]);
          targets.push({ what: `achieved/R at R=${rate}/s, ${processes} process(es)`, value: ratio(achieved / rate), target: '>= 0.95x', met: achieved / rate >= 0.95 });
          // the guarantee: all processes together never exceed the limit plus the bucket's burst
          targets.push({ what: `busiest second at R=${rate}/s, ${processes} process(es)`, value: String(s.maxRequestsInAnySecond), target: `<= R + burst = ${rate + burstFor(rate)}`, met: s.maxRequestsInAnySecond <= rate + burstFor(rate) });
        } finally {
          await producer.close();
          await sim.close();
        }
      }
    }
    return {
      name: 'rate',
      title: 'rate fidelity: simulator limit R, workers configured R',
      tables: [
        {
          caption: `simulator: token bucket R/s with burst max(3, R/5), latency ${LATENCY.join('-')} ms; workers: bb-reaper worker --rate R --concurrency max(10, R/10); rate measured from 5% to 95% of the closes`,
          header: ['R/s', 'processes', 'closes', 'achieved/s', 'achieved/R', '429s', 'max in any 1 s', 'max in flight/cap'],
          rows,
        },
      ],
      targets,
      notes: [],
    };
  },
};
