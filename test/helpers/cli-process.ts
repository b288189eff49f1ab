import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { track } from './context.js';

/** The built CLI (global-setup builds it when sources are newer). */
export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout+stderr match `re`. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** Kills (SIGKILL) if still running and waits for exit. */
  close(): Promise<void>;
}

/** Spawns `bb-reaper <args>` as a real child process; tracked by the leak check. */
export function spawnCli(args: string[], { env = {}, input }: { env?: Record<string, string>; input?: string } = {}): CliProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\``);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const handle: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out + err)) {
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${re}: ${out}${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in output: ${out}${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return track(handle, `bb-reaper ${args[0] ?? ''}`);
}

/** Runs `bb-reaper <args>` to completion. */
export async function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli(args, opts);
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const { code } = await p.exited;
  clearTimeout(timer);
  await p.close();
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
