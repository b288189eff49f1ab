import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createProducer } from '../src/producer/index.js';
import { CLOSE_JOB_NAME, CLOSE_QUEUE, closeJobId } from '../src/shared/names.js';
import { benchScript } from './lib/child.js';
import { benchPrefix, fixed, mb, median, ratio, type Bench, type BenchContext, type BenchResult } from './lib/report.js';

const ARRAY_IDS = 100_000;
const STREAM_IDS = 1_000_000;
const CHUNK = 1000;
const ROUNDS = 5;
const RSS_TARGET_BYTES = 200 * 1024 * 1024;

/** Raw BullMQ: the same jobs (name, data, deterministic id) added with `addBulk` in chunks of 1000. */
async function rawAddBulk(redisUrl: string, ids: string[]): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(CLOSE_QUEUE, { connection, prefix: benchPrefix('raw') });
  await queue.waitUntilReady();
  const t0 = performance.now();
  const enqueuedAt = Date.now();
  for (let i = 0; i < ids.length; i += CHUNK) {
    await queue.addBulk(ids.slice(i, i + CHUNK).map((sessionId) => ({ name: CLOSE_JOB_NAME, data: { sessionId, enqueuedAt, source: 'library' }, opts: { jobId: closeJobId(sessionId) } })));
  }
  const ms = performance.now() - t0;
  await queue.close();
  await connection.quit();
  return ms;
}

/** bb-reaper: `closeSessions(ids)` with its defaults (validation, duplicate check, job ids kept). */
async function producerCloseSessions(redisUrl: string, ids: string[]): Promise<number> {
  const producer = createProducer({ redisUrl, prefix: benchPrefix('lib') });
  await producer.redis.ping();
  const t0 = performance.now();
  const report = await producer.closeSessions(ids);
  const ms = performance.now() - t0;
  if (report.accepted !== ids.length) throw new Error(`closeSessions accepted ${report.accepted} of ${ids.length}`);
  await producer.close();
  return ms;
}

async function flush(redisUrl: string): Promise<void> {
  const r = new Redis(redisUrl);
  await r.flushdb(); // the benchmark's own private server
  await r.quit();
}

interface StreamReport {
  accepted: number;
  ms: number;
  baselineRss: number;
  peakRss: number;
  maxRssKbTime?: number;
}

/** Writes `count` random session ids, one per line, to a temp file. */
async function writeIdFile(count: number): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bb-reaper-bench-ids-'));
  const file = join(dir, 'ids.txt');
  const out = createWriteStream(file);
  for (let i = 0; i < count; i += 10_000) {
    const lines = Array.from({ length: Math.min(10_000, count - i) }, () => randomUUID()).join('\n') + '\n';
    if (!out.write(lines)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Streams the file through `closeSessionsFrom` in a child process, under `/usr/bin/time -v` when present. */
async function streamFromFile(ctx: BenchContext, file: string, nodeFlags: string[]): Promise<StreamReport> {
  const timeBin = '/usr/bin/time';
  const args = [process.execPath, ...nodeFlags, benchScript('enqueue-stream-child.js'), ctx.redisUrl, benchPrefix('stream'), file];
  const child = existsSync(timeBin) ? spawn(timeBin, ['-v', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`stream child exited ${code}: ${stderr}`);
  const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as StreamReport;
  const m = stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  if (m) report.maxRssKbTime = Number(m[1]);
  return report;
}

/** Node flags of the streaming runs: defaults, then a small old-space cap (shows the live set is small). */
const STREAM_VARIANTS: Array<{ label: string; flags: string[] }> = [
  { label: 'node defaults', flags: [] },
  { label: '--max-old-space-size=64', flags: ['--max-old-space-size=64'] },
];

export const enqueueBench: Bench = {
  name: 'enqueue',
  summary: `closeSessions of ${ARRAY_IDS} ids vs raw BullMQ addBulk; ${STREAM_IDS} ids streamed from a file (peak RSS)`,
  async run(ctx): Promise<BenchResult> {
    const ids = Array.from({ length: ARRAY_IDS }, () => randomUUID());
    const raw: number[] = [];
    const lib: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // alternate the order so drift on a shared machine hits both sides alike
      const order = round % 2 === 1 ? ['raw', 'lib'] : ['lib', 'raw'];
      for (const which of order) {
        await flush(ctx.redisUrl);
        const ms = which === 'raw' ? await rawAddBulk(ctx.redisUrl, ids) : await producerCloseSessions(ctx.redisUrl, ids);
        (which === 'raw' ? raw : lib).push(ms);
        ctx.log(`enqueue: round ${round} ${which} ${fixed(ms, 0)} ms`);
      }
    }
    await flush(ctx.redisUrl);
    const rawMs = median(raw);
    const libMs = median(lib);
    const rel = rawMs / libMs;
    const ids1m = await writeIdFile(STREAM_IDS);
    const streams: StreamReport[] = [];
    try {
      for (const v of STREAM_VARIANTS) {
        ctx.log(`enqueue: streaming ${STREAM_IDS} ids from a file in a child process (${v.label})`);
        streams.push(await streamFromFile(ctx, ids1m.file, v.flags));
        await flush(ctx.redisUrl);
      }
    } finally {
      await ids1m.remove();
    }
    const peakOf = (r: StreamReport) => Math.max(r.peakRss, (r.maxRssKbTime ?? 0) * 1024);
    const stream = streams[0] as StreamReport;
    const peak = peakOf(stream);
    return {
      name: 'enqueue',
      title: `enqueue ${ARRAY_IDS} closes; stream ${STREAM_IDS} from a file`,
      tables: [
        {
          caption: `${ARRAY_IDS} ids, median of ${ROUNDS} alternating rounds, Redis flushed before each`,
          header: ['producer', 'median ms', 'ids/s', 'runs ms', 'vs raw'],
          rows: [
            ['raw BullMQ addBulk (chunks of 1000)', fixed(rawMs, 0), fixed((ARRAY_IDS * 1000) / rawMs, 0), raw.map((x) => fixed(x, 0)).join(' / '), '1.00x'],
            ['bb-reaper closeSessions', fixed(libMs, 0), fixed((ARRAY_IDS * 1000) / libMs, 0), lib.map((x) => fixed(x, 0)).join(' / '), ratio(rel)],
          ],
        },
        {
          caption: `${STREAM_IDS} ids from a file through closeSessionsFrom (child process)`,
          header: ['node flags', 'accepted', 'seconds', 'ids/s', 'RSS at start', 'peak RSS (sampled)', 'max RSS (/usr/bin/time)'],
          rows: streams.map((r, i) => [STREAM_VARIANTS[i]?.label ?? '', String(r.accepted), fixed(r.ms / 1000, 1), fixed((r.accepted * 1000) / r.ms, 0), mb(r.baselineRss), mb(r.peakRss), r.maxRssKbTime ? mb(r.maxRssKbTime * 1024) : '-']),
        },
      ],
      targets: [
        { what: 'closeSessions throughput vs raw addBulk', value: ratio(rel), target: '>= 0.80x', met: rel >= 0.8 },
        { what: `peak RSS streaming ${STREAM_IDS} ids`, value: mb(peak), target: '< 200 MB', met: peak < RSS_TARGET_BYTES && stream.accepted === STREAM_IDS },
      ],
      notes: [
        `RSS with node defaults is mostly garbage V8 has not collected yet: the same stream under --max-old-space-size=64 peaks at ${mb(peakOf(streams[1] as StreamReport))}, so the live set stays small whatever the input size`,
      ],
    };
  },
};
