/**
 * The baseline worker of the overhead and idle-latency benchmarks: a plain BullMQ worker whose
 * processor calls the close endpoint with undici directly — no limiter, no retries, no
 * dead-letter queue, no metrics, no results stream. Run as a child process:
 * env REDIS_URL, BB_REAPER_PREFIX, BROWSERBASE_BASE_URL, BROWSERBASE_API_KEY, RAW_CONCURRENCY.
 */
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { COMPLETED_RETENTION } from '../src/shared/queues.js';
import { CLOSE_QUEUE } from '../src/shared/names.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`raw-worker: ${name} is required`);
  return v;
};

const concurrency = Number(process.env.RAW_CONCURRENCY ?? '10');
const apiKey = env('BROWSERBASE_API_KEY');
const pool = new Pool(env('BROWSERBASE_BASE_URL'), { connections: concurrency, pipelining: 1 });
const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
connection.on('error', () => {});
const body = JSON.stringify({ status: 'REQUEST_RELEASE' });

async function processClose(job: Job<{ sessionId: string }>): Promise<{ status: number }> {
  const res = await pool.request({
    method: 'POST',
    path: `/v1/sessions/${encodeURIComponent(job.data.sessionId)}`,
    headers: { 'x-bb-api-key': apiKey, 'content-type': 'application/json' },
    body,
  });
  await res.body.text();
  if (res.statusCode !== 200 && res.statusCode !== 404) throw new Error(`close answered HTTP ${res.statusCode}`);
  return { status: res.statusCode };
}

const worker = new Worker(CLOSE_QUEUE, processClose, {
  connection,
  prefix: env('BB_REAPER_PREFIX'),
  concurrency,
  removeOnComplete: COMPLETED_RETENTION,
});
worker.on('error', () => {});
await worker.waitUntilReady();
process.stdout.write('ready\n');

const stop = async () => {
  await worker.close();
  await pool.close();
  await connection.quit().catch(() => connection.disconnect());
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
