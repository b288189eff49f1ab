import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer } from '../src/producer/index.js';
import { getQueueStats } from '../src/shared/queues.js';
import { benchScript, spawnNode } from './lib/child.js';
import { benchPrefix, fixed, type Bench, type BenchContext, type BenchResult } from './lib/report.js';
import { SIM_KEY, startSimProcess, type SimProcess } from './lib/sim-process.js';
import { waitUntil } from './lib/report.js';
import { startCliWorkers, stopAll } from './lib/workers.js';
import { burstFor } from './rate-fidelity.js';

const LIMIT = 50;
const ERROR_RATE = 0.05;
const CLOSES = 1000;
/** What a user would pick for `p-limit` around the SDK. */
const SDK_CONCURRENCY = 10;
const simOptions = { rate: LIMIT, burst: burstFor(LIMIT), errorRate: ERROR_RATE, latencyMs: [5, 25] as [number, number] };

interface Outcome {
  label: string;
  wallMs: number;
  lost: number;
  deadLettered: string;
  r429: number;
  r5xx: number;
  requests: number;
  errors: string;
}

/** Waits until every released session has turned COMPLETED, then counts sessions left RUNNING. */
async function runningLeft(sim: SimProcess): Promise<number> {
  let last = -1;
  let stableSince = Date.now();
  await waitUntil('simulator sessions settled', async () => {
    const running = (await sim.stats()).sessions.RUNNING ?? 0;
    if (running !== last) {
      last = running;
      stableSince = Date.now();
    }
    return Date.now() - stableSince >= 500; // the release delay is 100 ms
  }, 30_000, 50);
  return last;
}

const count5xx = (byStatus: Record<string, number>) => Object.entries(byStatus).filter(([k]) => k.startsWith('5')).reduce((a, [, v]) => a + v, 0);

async function runSdk(): Promise<Outcome> {
  const sim = await startSimProcess(simOptions);
  const dir = await mkdtemp(join(tmpdir(), 'bb-reaper-bench-sdk-'));
  try {
    const ids = await sim.seed(CLOSES);
    const file = join(dir, 'ids.txt');
    await writeFile(file, `${ids.join('\n')}\n`);
    const child = spawnNode(benchScript('sdk-client.js'), [sim.url, SIM_KEY, file, String(SDK_CONCURRENCY)]);
    const [line] = await child.waitForOutput(/^\{.*\}$/m, 600_000);
    const r = JSON.parse(line) as { wallMs: number; fulfilled: number; errors: Record<string, number> };
    await child.exited;
    const lost = await runningLeft(sim);
    const s = await sim.stats();
    return {
      label: `@browserbasehq/sdk + p-limit(${SDK_CONCURRENCY}), maxRetries 2 (default)`,
      wallMs: r.wallMs,
      lost,
      deadLettered: `- (${CLOSES - r.fulfilled} rejected)`,
      r429: s.requests.byStatus['429'] ?? 0,
      r5xx: count5xx(s.requests.byStatus),
      requests: s.requests.total,
      errors: Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await sim.close();
  }
}

async function runReaper(ctx: BenchContext, rate: number, label: string): Promise<Outcome> {
  const sim = await startSimProcess(simOptions);
  const prefix = benchPrefix('vs-sdk');
  const producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
  try {
    const ids = await sim.seed(CLOSES);
    const workers = await startCliWorkers(1, { redis: producer.redis, redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, rate, concurrency: SDK_CONCURRENCY });
    const t0 = performance.now();
    await producer.closeSessions(ids);
    await waitUntil('every close final', async () => {
      const q = await getQueueStats(producer.queues);
      return q.completed + q.dead === CLOSES;
    }, 300_000, 50);
    const wallMs = performance.now() - t0;
    await stopAll(workers);
    const q = await getQueueStats(producer.queues);
    const lost = await runningLeft(sim);
    const s = await sim.stats();
    return {
      label,
      wallMs,
      lost,
      deadLettered: String(q.dead),
      r429: s.requests.byStatus['429'] ?? 0,
      r5xx: count5xx(s.requests.byStatus),
      requests: s.requests.total,
      errors: q.dead > 0 ? `${q.dead} in the DLQ (re-drivable)` : 'none',
    };
  } finally {
    await producer.close();
    await sim.close();
  }
}

export const sdkBench: Bench = {
  name: 'sdk',
  summary: `official SDK in a p-limit loop vs bb-reaper: ${CLOSES} closes, limit ${LIMIT}/s, ${ERROR_RATE * 100}% 5xx`,
  async run(ctx): Promise<BenchResult> {
    ctx.log('sdk: SDK + p-limit');
    const sdk = await runSdk();
    ctx.log('sdk: bb-reaper, rate = limit');
    const known = await runReaper(ctx, LIMIT, `bb-reaper worker --rate ${LIMIT} --concurrency ${SDK_CONCURRENCY}`);
    ctx.log('sdk: bb-reaper, rate = 4x limit');
    const unknown = await runReaper(ctx, LIMIT * 4, `bb-reaper worker --rate ${LIMIT * 4} --concurrency ${SDK_CONCURRENCY} (limit unknown)`);
    const all = [sdk, known, unknown];
    return {
      name: 'sdk',
      title: 'the obvious alternative: the official SDK in a p-limit loop',
      tables: [
        {
          caption: `${CLOSES} closes; simulator bucket ${LIMIT}/s burst ${burstFor(LIMIT)}, ${ERROR_RATE * 100}% 500/502/503, latency 5-25 ms; fresh simulator per row; bb-reaper wall time from enqueue to every job final`,
          header: ['client', 'closes lost', 'dead-lettered', '429s caused', '5xx seen', 'requests', 'wall s', 'failures'],
          rows: all.map((o) => [o.label, String(o.lost), o.deadLettered, String(o.r429), String(o.r5xx), String(o.requests), fixed(o.wallMs / 1000, 1), o.errors]),
        },
      ],
      targets: [
        { what: 'bb-reaper closes lost (rate = limit)', value: String(known.lost), target: '0', met: known.lost === 0 },
        { what: 'bb-reaper closes lost (rate = 4x limit)', value: String(unknown.lost), target: '0', met: unknown.lost === 0 },
      ],
      notes: [`SDK: ${sdk.lost} of ${CLOSES} closes lost (${fixed((100 * sdk.lost) / CLOSES, 1)}%) and ${sdk.r429} 429s; bb-reaper at the known limit: ${known.lost} lost, ${known.r429} 429s, ${fixed(known.wallMs / sdk.wallMs, 2)}x the SDK's wall time`],
    };
  },
};
