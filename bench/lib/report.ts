import { formatTable } from '../../src/cli/toolkit/table.js';

/** One measured target: the figure, the goal, and whether this run met it. */
export interface TargetCheck {
  what: string;
  value: string;
  target: string;
  met: boolean;
}

/** What one benchmark hands back to the runner: its tables, targets and remarks. */
export interface BenchResult {
  name: string;
  title: string;
  tables: Array<{ caption?: string; header: string[]; rows: string[][] }>;
  targets: TargetCheck[];
  notes: string[];
}

/** Shared by every benchmark of one run. */
export interface BenchContext {
  /** The run's private redis-server. */
  redisUrl: string;
  /** pid of that server (its CPU time is read from /proc). */
  redisPid: number;
  /** Progress lines (stderr), so stdout keeps only the tables. */
  log(message: string): void;
}

export interface Bench {
  name: string;
  /** One line for `--list`. */
  summary: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** Renders one benchmark's result as plain text. */
export function renderResult(r: BenchResult): string {
  const parts = [`\n== ${r.name}: ${r.title} ==\n`];
  for (const t of r.tables) {
    if (t.caption) parts.push(`${t.caption}\n`);
    parts.push(formatTable(t.header, t.rows));
  }
  for (const t of r.targets) parts.push(`${t.met ? 'met   ' : 'MISSED'}  ${t.what}: ${t.value} (target ${t.target})\n`);
  for (const n of r.notes) parts.push(`note: ${n}\n`);
  return parts.join('');
}

/** `1234.5` -> `1 235`-style integers are hard to grep; keep plain numbers with fixed decimals. */
export const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
export const ratio = (x: number) => `${fixed(x, 2)}x`;
export const pct = (x: number, digits = 1) => `${fixed(100 * x, digits)}%`;
export const mb = (bytes: number) => `${fixed(bytes / 1024 / 1024, 0)} MB`;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

/** Polls `check` until true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A key prefix no other run uses. */
export const benchPrefix = (label: string) => `bbr-bench-${label}-${Math.random().toString(36).slice(2, 8)}`;
