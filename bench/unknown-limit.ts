import { createProducer } from '../src/producer/index.js';
import { getQueueStats } from '../src/shared/queues.js';
import { readLimiterState } from '../src/worker/index.js';
import { firstRequestTime, followDrain, releasedAt } from './lib/drain.js';
import { benchPrefix, fixed, pct, ratio, type Bench, type BenchResult } from './lib/report.js';
import { startSimProcess } from './lib/sim-process.js';
import { startCliWorkers, stopAll } from './lib/workers.js';
import { burstFor } from './rate-fidelity.js';

/** The simulator's real limit, requests/s. */
const REAL = 50;
/** The workers are configured at this multiple of it. */
const FACTOR = 4;
const SECONDS_OF_WORK = 30;
const WARMUP_MS = 10_000;

/** Release rate (closes/s) in consecutive windows of `ms` from `t0` to `end`. */
function windows(samples: Parameters<typeof releasedAt>[0], t0: number, end: number, ms: number): number[] {
  const out: number[] = [];
  for (let t = t0; t < end; t += ms) {
    const to = Math.min(end, t + ms);
    out.push(((releasedAt(samples, to) - releasedAt(samples, t)) * 1000) / (to - t));
  }
  return out;
}

export const unknownLimitBench: Bench = {
  name: 'unknown-limit',
  summary: `workers configured ${FACTOR}x the simulator's real limit (${REAL}/s): throughput after 10 s, 429 share, dead letters`,
  async run(ctx): Promise<BenchResult> {
    const n = REAL * SECONDS_OF_WORK;
    const sim = await startSimProcess({ rate: REAL, burst: burstFor(REAL), latencyMs: [5, 25] });
    const prefix = benchPrefix('unknown');
    const producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
    try {
      const ids = await sim.seed(n);
      const configured = REAL * FACTOR;
      const workers = await startCliWorkers(1, { redis: producer.redis, redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, rate: configured, concurrency: 20 });
      ctx.log(`unknown-limit: real ${REAL}/s, configured ${configured}/s, ${n} closes`);
      await producer.closeSessions(ids);
      const drain = await followDrain(sim, (s) => s.closes.released >= n, { timeoutMs: 300_000 });
      const end = drain.samples[drain.samples.length - 1]?.t ?? NaN;
      const t0 = firstRequestTime(drain.samples);
      const afterWarmup = ((n - releasedAt(drain.samples, t0 + WARMUP_MS)) * 1000) / (end - t0 - WARMUP_MS);
      const firstPart = (releasedAt(drain.samples, t0 + WARMUP_MS) * 1000) / WARMUP_MS;
      const limiter = await readLimiterState(producer.redis, prefix);
      await stopAll(workers);
      const q = await getQueueStats(producer.queues);
      const s = drain.final;
      const r429 = s.requests.byStatus['429'] ?? 0;
      const share = r429 / s.requests.total;
      // 429s in the first 10 s vs after: from the per-second arrival counts we cannot tell status,
      // so read the call log (it keeps the last 10 000 calls, more than this run makes).
      const calls = await sim.calls();
      const late429 = calls.filter((c) => c.status === 429 && c.time >= t0 + WARMUP_MS).length;
      const lateTotal = calls.filter((c) => c.time >= t0 + WARMUP_MS).length;
      return {
        name: 'unknown-limit',
        title: `unknown limit: configured ${configured}/s, real limit ${REAL}/s`,
        tables: [
          {
            caption: `${n} closes, 1 worker process (--rate ${configured} --concurrency 20), simulator bucket ${REAL}/s burst ${burstFor(REAL)}, latency 5-25 ms`,
            header: ['closes/s first 10 s', 'closes/s after 10 s', 'after/real', '429s (share)', '429 share after 10 s', 'dead-lettered', 'effective rate at end', 'wall s'],
            rows: [[
              fixed(firstPart, 1),
              fixed(afterWarmup, 1),
              ratio(afterWarmup / REAL),
              `${r429} (${pct(share)})`,
              pct(lateTotal ? late429 / lateTotal : 0),
              String(q.dead),
              limiter ? fixed(limiter.effectiveRate, 1) : '-',
              fixed((end - t0) / 1000, 1),
            ]],
          },
        ],
        targets: [
          { what: 'throughput after the first 10 s / real limit', value: ratio(afterWarmup / REAL), target: '>= 0.85x', met: afterWarmup / REAL >= 0.85 },
          { what: 'closes dead-lettered', value: String(q.dead), target: '0', met: q.dead === 0 },
        ],
        notes: [
          `closes/s by 5 s window from the first request: ${windows(drain.samples, t0, end, 5000).map((x) => fixed(x, 0)).join(', ')}`,
          ...(calls.length < s.requests.total ? [`call log kept ${calls.length} of ${s.requests.total} calls; late 429 share is over those`] : []),
        ],
      };
    } finally {
      await producer.close();
      await sim.close();
    }
  },
};
