import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { SimulatorHandle } from '../../src/simulator/index.js';
import { track } from './context.js';

/** The built library (global-setup builds it when sources are newer). */
export const LIBRARY = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url));

/** When the simulator received the first close (release POST) of each session, ms epoch. */
export function closeArrivals(sim: Pick<SimulatorHandle, 'calls'>): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of sim.calls()) {
    if (c.method !== 'POST' || !c.path.startsWith('/v1/sessions/')) continue;
    const id = decodeURIComponent(c.path.slice('/v1/sessions/'.length));
    if (!out.has(id)) out.set(id, c.time);
  }
  return out;
}

export interface NodeChild {
  output(): string;
  /** Resolves with the first match of `re` in stdout (its groups), failing when the process exits first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  close(): Promise<void>;
}

/**
 * Runs `code` (an ES module; `LIB` is the built library's path) in a real node process: a holder
 * of leases the test can SIGKILL. Tracked by the leak check.
 */
export function runNode(code: string, env: Record<string, string> = {}): NodeChild {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const LIB = ${JSON.stringify(LIBRARY)};\n${code}`], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return track(
    {
      output: () => out + err,
      async waitFor(re, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const m = out.match(re);
          if (m) return m;
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited before printing ${re}: ${out}${err}`);
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: ${out}${err}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      exited,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => void child.kill(signal),
      async close() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    },
    'node child',
  );
}

/** p-th percentile (0..100) of `xs` (nearest rank). */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number);
}
