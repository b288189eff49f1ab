/**
 * Child process of the enqueue benchmark: streams session ids (one per line) from a file through
 * `closeSessionsFrom` and reports its peak RSS, sampled every 20 ms, as one JSON line.
 * Usage: node enqueue-stream-child.js <redisUrl> <prefix> <file>
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createProducer } from '../src/producer/index.js';

const [redisUrl, prefix, file] = process.argv.slice(2);
if (!redisUrl || !prefix || !file) throw new Error('usage: enqueue-stream-child <redisUrl> <prefix> <file>');

const producer = createProducer({ redisUrl, prefix });
await producer.redis.ping();
let peak = process.memoryUsage().rss;
const baseline = peak;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const started = performance.now();
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
const report = await producer.closeSessionsFrom(lines);
const ms = performance.now() - started;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
await producer.close();
process.stdout.write(`${JSON.stringify({ accepted: report.accepted, duplicates: report.duplicates, invalid: report.invalidCount, ms, baselineRss: baseline, peakRss: peak })}\n`);
