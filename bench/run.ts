/**
 * `npm run bench [-- <name>...] [--json <file>] [--list]`: runs the benchmarks one after another
 * against a private redis-server and simulator child processes, prints a table per benchmark and
 * the targets met or missed. Figures are ratios against a baseline measured in the same run where
 * one exists; nothing here fails on absolute timings (exit 0 unless a benchmark itself broke).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { accountsBench } from './accounts.js';
import { enqueueBench } from './enqueue.js';
import { idleLatencyBench } from './idle-latency.js';
import { leasesBench } from './leases.js';
import { overheadBench } from './overhead.js';
import { rateFidelityBench } from './rate-fidelity.js';
import { renderResult, type Bench, type BenchResult } from './lib/report.js';
import { sdkBench } from './sdk-baseline.js';
import { startRedisServer } from '../src/shared/redis-server.js';
import { unknownLimitBench } from './unknown-limit.js';

const BENCHES: Bench[] = [enqueueBench, rateFidelityBench, unknownLimitBench, sdkBench, overheadBench, idleLatencyBench, leasesBench, accountsBench];

function parseArgs(argv: string[]): { names: string[]; json?: string; list: boolean } {
  const names: string[] = [];
  let json: string | undefined;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--json') json = argv[++i];
    else if (a === '--list') list = true;
    else names.push(a);
  }
  return { names, ...(json !== undefined ? { json } : {}), list };
}

async function main(): Promise<number> {
  const { names, json, list } = parseArgs(process.argv.slice(2));
  if (list) {
    for (const b of BENCHES) process.stdout.write(`${b.name.padEnd(14)}${b.summary}\n`);
    return 0;
  }
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; expected any of ${BENCHES.map((b) => b.name).join(', ')}\n`);
    return 2;
  }
  const selected = names.length === 0 ? BENCHES : BENCHES.filter((b) => names.includes(b.name));
  const cpu = cpus();
  const header = `bb-reaper benchmarks ${new Date().toISOString()} | node ${process.version} | ${cpu.length} x ${cpu[0]?.model ?? 'cpu'} | load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  process.stdout.write(`${header}\n`);
  const redis = await startRedisServer(); // private, no persistence; FLUSHDB between cases is safe
  const results: BenchResult[] = [];
  let broken = 0;
  try {
    for (const b of selected) {
      const t0 = Date.now();
      process.stderr.write(`[bench] ${b.name} ...\n`);
      try {
        const r = await b.run({ redisUrl: redis.url, redisPid: redis.pid(), log: (m) => process.stderr.write(`[bench] ${m}\n`) });
        results.push(r);
        process.stdout.write(renderResult(r));
        process.stdout.write(`(${b.name} took ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      } catch (err) {
        broken++;
        process.stdout.write(`\n== ${b.name}: FAILED TO RUN ==\n${(err as Error).stack ?? String(err)}\n`);
      }
    }
  } finally {
    await redis.close();
  }
  const targets = results.flatMap((r) => r.targets.map((t) => ({ bench: r.name, ...t })));
  process.stdout.write(`\n== targets ==\n`);
  for (const t of targets) process.stdout.write(`${t.met ? 'met   ' : 'MISSED'}  [${t.bench}] ${t.what}: ${t.value} (target ${t.target})\n`);
  if (json) writeFileSync(json, `${JSON.stringify({ header, results }, null, 2)}\n`);
  return broken > 0 ? 1 : 0;
}

process.exitCode = await main();
