import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';

// The built CLI (the global setup builds it when sources are newer).
const CLI = 'dist/src/cli/main.js';

interface CliProcess {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first stdout line. */
  firstLine(timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  close(): Promise<unknown>;
}

function runCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const proc: CliProcess = {
    child,
    output: () => ({ stdout, stderr }),
    async firstLine(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes('\n')) {
        if (child.exitCode !== null) throw new Error(`CLI exited with ${child.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no output from the CLI within ${timeoutMs} ms: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return stdout.slice(0, stdout.indexOf('\n'));
    },
    exited,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  return track(proc, 'bb-reaper simulator process');
}

describe('bb-reaper simulator (CLI)', () => {
  it('serves on the printed URL with seeded sessions and exits 0 on SIGTERM, never printing the key', async () => {
    const proc = runCli(['simulator', '--port', '0', '--json', '--sessions', '3', '--api-key', 'e2e-secret-key', '--rate', '500', '--latency-ms', '0,1']);
    const info = JSON.parse(await proc.firstLine()) as { url: string; port: number; sessions: number; rate: number; apiKeys: number };
    expect(info).toMatchObject({ sessions: 3, rate: 500, apiKeys: 1 });
    expect(info.url).toBe(`http://127.0.0.1:${info.port}`);

    const res = await fetch(`${info.url}/v1/sessions?status=RUNNING`, { headers: { 'x-bb-api-key': 'e2e-secret-key' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('500');
    expect((await res.json()) as unknown[]).toHaveLength(3);
    expect((await fetch(`${info.url}/v1/sessions`, { headers: { 'x-bb-api-key': 'sim-key' } })).status).toBe(401);
    const stats = (await (await fetch(`${info.url}/_sim/stats`)).json()) as { requests: { total: number } };
    expect(stats.requests.total).toBe(2);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const { stdout, stderr } = proc.output();
    expect(stderr).toContain('stopped on SIGTERM');
    expect(stdout + stderr).not.toContain('e2e-secret-key');
    await proc.close();
  });

  it('prints a human line by default and exits 0 on SIGINT', async () => {
    const proc = runCli(['simulator', '--port', '0']);
    const line = await proc.firstLine();
    expect(line).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(line).not.toContain('sim-key');
    proc.child.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    await proc.close();
  });

  it('exits 2 naming every bad flag, and on an unknown flag', async () => {
    const bad = runCli(['simulator', '--port', '0', '--rate', '-3', '--latency-ms', '50,10', '--error-rate', 'lots', '--close-finished', '500', '--api-key', 'k-hidden-1', '--sessions', '200000']);
    expect(await bad.exited).toBe(2);
    const { stdout, stderr } = bad.output();
    for (const flag of ['--rate', '--latency-ms', '--error-rate', '--close-finished', '--sessions']) expect(stderr).toContain(`\`${flag}\``);
    expect(stdout).toBe('');
    expect(stderr).not.toContain('k-hidden-1');
    await bad.close();

    const unknown = runCli(['simulator', '--no-such-flag']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output().stderr).toContain('--no-such-flag');
    await unknown.close();
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    const sim = track(await startSimulator(), 'simulator');
    const proc = runCli(['simulator', '--port', String(sim.port)]);
    expect(await proc.exited).toBe(1);
    expect(proc.output().stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    await proc.close();
    await sim.close();
  });
});
