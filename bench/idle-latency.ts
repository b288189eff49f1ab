import { createProducer } from '../src/producer/index.js';
import type { Child } from './lib/child.js';
import { benchPrefix, fixed, percentile, ratio, sleep, waitUntil, type Bench, type BenchContext, type BenchResult } from './lib/report.js';
import { startSimProcess } from './lib/sim-process.js';
import { startCliWorkers, startRawWorker } from './lib/workers.js';

const SAMPLES = 200;
const WARMUP = 10;
const RATE = 100;
const CONCURRENCY = 10;

/**
 * Enqueues one close at a time into an empty queue and reads, from the simulator's call log,
 * when its request arrived. Between samples the worker is idle for 20-60 ms (well above the
 * limiter's 1/rate spacing), so each close meets an idle worker blocked on an empty queue.
 */
async function sampleLatency(ctx: BenchContext, kind: 'raw' | 'bb-reaper'): Promise<number[]> {
  const sim = await startSimProcess();
  const prefix = benchPrefix(`idle-${kind}`);
  const producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
  let worker: Child | undefined;
  try {
    const ids = await sim.seed(WARMUP + SAMPLES);
    const target = { redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, concurrency: CONCURRENCY };
    worker = kind === 'raw' ? await startRawWorker(target) : (await startCliWorkers(1, { ...target, redis: producer.redis, rate: RATE }))[0];
    const sentAt = new Map<string, number>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      await sleep(20 + Math.random() * 40);
      sentAt.set(id, Date.now());
      await producer.closeSession(id);
      await waitUntil(`close ${i + 1} released`, async () => (await sim.stats()).closes.released >= i + 1, 30_000, 2);
    }
    const calls = await sim.calls();
    const latencies: number[] = [];
    for (const id of ids.slice(WARMUP)) {
      const call = calls.find((c) => c.method === 'POST' && c.path === `/v1/sessions/${encodeURIComponent(id)}`);
      if (!call) throw new Error(`no close call for ${id} in the simulator's log`);
      latencies.push(call.time - (sentAt.get(id) as number));
    }
    return latencies;
  } finally {
    await worker?.stop();
    await producer.close();
    await sim.close();
  }
}

export const idleLatencyBench: Bench = {
  name: 'idle-latency',
  summary: `closeSession into an empty queue -> close request at the simulator (${SAMPLES} samples), vs a raw BullMQ worker`,
  async run(ctx): Promise<BenchResult> {
    ctx.log('idle-latency: raw BullMQ worker');
    const raw = await sampleLatency(ctx, 'raw');
    ctx.log('idle-latency: bb-reaper worker');
    const bb = await sampleLatency(ctx, 'bb-reaper');
    const row = (label: string, xs: number[], base?: number[]) => [
      label,
      fixed(percentile(xs, 50), 0),
      fixed(percentile(xs, 90), 0),
      fixed(percentile(xs, 99), 0),
      fixed(Math.max(...xs), 0),
      base ? ratio(percentile(xs, 50) / Math.max(1, percentile(base, 50))) : '1.00x',
    ];
    return {
      name: 'idle-latency',
      title: 'idle latency: closeSession -> request at the simulator',
      tables: [
        {
          caption: `${SAMPLES} samples each after ${WARMUP} warm-up closes; ms, 1 ms resolution (both clocks are this machine's); includes the producer's enqueue (duplicate check + addBulk)`,
          header: ['worker', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p50 vs raw'],
          rows: [row('raw BullMQ Worker + undici', raw), row(`bb-reaper worker --rate ${RATE} --concurrency ${CONCURRENCY}`, bb, raw)],
        },
      ],
      targets: [],
      notes: [],
    };
  },
};
