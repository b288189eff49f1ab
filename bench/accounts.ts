import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer } from '../src/producer/index.js';
import { spawnCli, type Child } from './lib/child.js';
import { benchPrefix, fixed, percentile, ratio, waitUntil, type Bench, type BenchResult, type TargetCheck } from './lib/report.js';
import { startSimProcess } from './lib/sim-process.js';
import { stopAll } from './lib/workers.js';

const ACCOUNTS = 10;
const RATE = 25;
const BIG_BACKLOG = 20_000;
const SMALL = 200;
const PROCESSES = 2;

/**
 * Ten accounts in one deployment, two worker processes: one account with a 20 000-close backlog,
 * nine with 200 each, every account limited to 25/s (by bb-reaper and, per key, by the simulator).
 * Measures each account's achieved rate against its limit while all drain at once, and how long
 * the small accounts' closes take from enqueue to the API, against the ideal of an account alone
 * at its limit (n / R). The big backlog is left undrained (20 000 at 25/s is 13 minutes): what
 * counts is that it does not slow the others.
 */
export const accountsBench: Bench = {
  name: 'accounts',
  summary: `${ACCOUNTS} accounts at ${RATE}/s each, one with a ${BIG_BACKLOG}-close backlog, nine with ${SMALL}; ${PROCESSES} worker processes`,
  async run(ctx): Promise<BenchResult> {
    const names = Array.from({ length: ACCOUNTS }, (_, i) => `acct${i}`);
    const keyOf = (name: string) => `bench-${name}-key`;
    const projectOf = (name: string) => `proj-${name}`;
    const [main, ...others] = names as [string, ...string[]];
    const sim = await startSimProcess({ rate: RATE, burst: Math.ceil(RATE / 5), latencyMs: [5, 25], releaseDelayMs: 0, projects: Object.fromEntries(others.map((n) => [projectOf(n), [keyOf(n)]])) });
    // the simulator's main project takes the first account
    const dir = mkdtempSync(join(tmpdir(), 'bbr-bench-accounts-'));
    const file = join(dir, 'accounts.json');
    writeFileSync(file, JSON.stringify({ accounts: Object.fromEntries(names.map((n) => [n, { apiKeyEnv: `BB_KEY_${n.toUpperCase()}`, rate: RATE, concurrency: 10 }])) }));
    const prefix = benchPrefix('accounts');
    const env: Record<string, string> = { REDIS_URL: ctx.redisUrl, BB_REAPER_PREFIX: prefix, BB_REAPER_ACCOUNTS: file, BROWSERBASE_BASE_URL: sim.url, LOG_LEVEL: 'warn' };
    for (const n of names) env[`BB_KEY_${n.toUpperCase()}`] = n === main ? 'sim-key' : keyOf(n);
    const producer = createProducer({ redisUrl: ctx.redisUrl, prefix });
    let workers: Child[] = [];
    try {
      const big = await sim.seed(BIG_BACKLOG);
      const small = new Map<string, string[]>();
      for (const n of others) small.set(n, await sim.seed(SMALL, { projectId: projectOf(n) }));
      workers = Array.from({ length: PROCESSES }, () => spawnCli(['worker', '--no-ingress', '--no-sweeps'], env));
      await waitUntil('the workers serving every account', async () => {
        for (const w of workers) if (/"level":(50|60)/.test(w.output())) throw new Error(`worker failed: ${w.output()}`);
        return Object.keys(await producer.redis.hgetall(`${prefix}:workers:accounts`)).length === PROCESSES;
      }, 60_000);
      ctx.log(`accounts: ${BIG_BACKLOG} closes for ${main}, then ${SMALL} for each of ${others.length} others`);
      await producer.closeSessions(big, { account: main });
      const backlogAt = Date.now();
      // let the big account's drain get going before the others arrive
      await waitUntil('the big account draining', async () => (await sim.stats()).closes.released >= RATE, 60_000);
      const enqueuedAt = new Map<string, number>();
      for (const n of others) {
        const ids = small.get(n) as string[];
        const at = Date.now();
        for (const id of ids) enqueuedAt.set(id, at);
        await producer.closeSessions(ids, { account: n });
      }
      const smallStart = Date.now();
      const smallIds = new Set(enqueuedAt.keys());
      const firstPost = new Map<string, number>();
      const sessionOf = (path: string) => decodeURIComponent(path.split('/').pop() ?? '');
      const bigPosts: number[] = [];
      const seen = new Set<string>();
      await waitUntil('every small account drained', async () => {
        for (const c of await sim.calls(1000)) {
          if (c.method !== 'POST' || c.status !== 200) continue;
          const id = sessionOf(c.path);
          const k = `${id}@${c.time}`;
          if (seen.has(k)) continue;
          seen.add(k);
          if (smallIds.has(id)) {
            if (!firstPost.has(id)) firstPost.set(id, c.time);
          } else bigPosts.push(c.time);
        }
        return firstPost.size >= smallIds.size;
      }, 300_000, 250);
      const smallEnd = Date.now();
      await stopAll(workers);
      workers = [];
      const rows: string[][] = [];
      const targets: TargetCheck[] = [];
      // the big account over the same window as the small ones
      const bigInWindow = bigPosts.filter((t) => t >= smallStart && t <= smallEnd).length;
      const bigRate = bigInWindow / ((smallEnd - smallStart) / 1000);
      rows.push([main, String(BIG_BACKLOG), fixed(bigRate, 1), ratio(bigRate / RATE), '-', '-', '-']);
      targets.push({ what: `${main} (backlog) achieved/limit while the others drain`, value: ratio(bigRate / RATE), target: '0.90x-1.05x', met: bigRate / RATE >= 0.9 && bigRate / RATE <= 1.05 });
      const ideal = SMALL / RATE; // s: an account alone at its limit
      let worstP99 = 0;
      let worstFirst = 0;
      for (const n of others) {
        const ids = small.get(n) as string[];
        const posts = ids.map((id) => firstPost.get(id) as number).sort((a, b) => a - b);
        const lat = ids.map((id) => ((firstPost.get(id) as number) - (enqueuedAt.get(id) as number)) / 1000);
        const span = ((posts.at(-1) as number) - (posts[0] as number)) / 1000;
        const achieved = (SMALL - 1) / span;
        const p99 = percentile(lat, 99);
        const first = Math.min(...lat);
        worstP99 = Math.max(worstP99, p99);
        worstFirst = Math.max(worstFirst, first);
        rows.push([n, String(SMALL), fixed(achieved, 1), ratio(achieved / RATE), fixed(first * 1000, 0), fixed(p99, 2), ratio(p99 / ideal)]);
        targets.push({ what: `${n} achieved/limit`, value: ratio(achieved / RATE), target: '0.90x-1.05x', met: achieved / RATE >= 0.9 && achieved / RATE <= 1.05 });
      }
      targets.push({ what: 'small accounts: p99 enqueue-to-close / ideal (n/R alone)', value: ratio(worstP99 / ideal), target: '<= 1.10x', met: worstP99 / ideal <= 1.1 });
      targets.push({ what: "small accounts: first close's latency (worst)", value: `${fixed(worstFirst * 1000, 0)} ms`, target: '<= 1000 ms', met: worstFirst <= 1 });
      const s = await sim.stats();
      return {
        name: 'accounts',
        title: `${ACCOUNTS} accounts, one backlog of ${BIG_BACKLOG}, ${PROCESSES} worker processes`,
        tables: [
          {
            caption: `every account limited to ${RATE}/s by bb-reaper and by the simulator (a bucket per key, burst ${Math.ceil(RATE / 5)}, latency 5-25 ms); ${main}'s rate measured while the others drained; latency from enqueue to the API receiving the close; ideal = ${SMALL}/${RATE} = ${fixed(ideal, 1)} s`,
            header: ['account', 'closes', 'achieved/s', 'achieved/limit', 'first close ms', 'p99 latency s', 'p99 / ideal'],
            rows,
          },
        ],
        targets,
        notes: [`429s: ${s.requests.byStatus['429'] ?? 0}; backlog enqueued ${fixed((smallStart - backlogAt) / 1000, 1)} s before the small accounts' closes; the backlog is left undrained (obliterated after the run)`],
      };
    } finally {
      await stopAll(workers);
      for (const n of names) await producer.queues.closeQueueFor(n).obliterate({ force: true }).catch(() => {});
      await producer.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
