import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI, next to the compiled benchmarks (`dist/bench/lib` -> `dist/src/cli/main.js`). */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A compiled benchmark script beside this one, e.g. `benchScript('raw-worker.js')`. */
export const benchScript = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));

export interface Child {
  readonly pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout+stderr match `re`; fails if the process exits first or after `timeoutMs`. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** CPU time (user + system) the process used so far, ms; 0 once it has exited. */
  cpuMs(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/** Children still running: killed if the benchmark process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Spawns `node <script> <args>` with a minimal environment plus `env`. */
export function spawnNode(script: string, args: string[], env: Record<string, string> = {}): Child {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\``);
  const child: ChildProcess = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  live.add(child);
  child.once('exit', () => live.delete(child));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid ?? 0,
    output: () => out,
    exited,
    async waitForOutput(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (!running()) throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before printing ${re}: ${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in output: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    cpuMs: () => (running() ? processCpuMs(child.pid ?? 0) : 0),
    async stop(graceMs = 15_000) {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal);
    },
  };
}

/** Spawns `bb-reaper <args>`. */
export const spawnCli = (args: string[], env: Record<string, string> = {}) => spawnNode(CLI, args, env);

const TICKS_PER_SECOND = 100;

/** CPU time (user + system, ms) of a live process from `/proc/<pid>/stat`; 0 when unreadable. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may contain spaces) start at ") "
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
