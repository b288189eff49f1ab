import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { spawnCli, runCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';

const firstLine = (s: string): string => s.slice(0, s.indexOf('\n'));

describe('bb-reaper simulator (CLI)', () => {
  it('serves on the printed URL with seeded sessions and exits 0 on SIGTERM, never printing the key', async () => {
    const proc = spawnCli(['simulator', '--port', '0', '--json', '--sessions', '3', '--api-key', 'e2e-secret-key', '--rate', '500', '--latency-ms', '0,1']);
    await proc.waitForOutput(/\n/);
    const info = JSON.parse(firstLine(proc.stdout())) as { url: string; port: number; sessions: number; rate: number; apiKeys: number };
    expect(info).toMatchObject({ sessions: 3, rate: 500, apiKeys: 1 });
    expect(info.url).toBe(`http://127.0.0.1:${info.port}`);

    const res = await fetch(`${info.url}/v1/sessions?status=RUNNING`, { headers: { 'x-bb-api-key': 'e2e-secret-key' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('500');
    expect((await res.json()) as unknown[]).toHaveLength(3);
    expect((await fetch(`${info.url}/v1/sessions`, { headers: { 'x-bb-api-key': 'sim-key' } })).status).toBe(401);
    const stats = (await (await fetch(`${info.url}/_sim/stats`)).json()) as { requests: { total: number } };
    expect(stats.requests.total).toBe(2);

    proc.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.stderr()).toContain('stopped on SIGTERM');
    expect(proc.stdout() + proc.stderr()).not.toContain('e2e-secret-key');
    await proc.close();
  });

  it('prints a human line by default and exits 0 on SIGINT', async () => {
    const proc = spawnCli(['simulator', '--port', '0']);
    await proc.waitForOutput(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(proc.stdout()).not.toContain('sim-key');
    proc.kill('SIGINT');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await proc.close();
  });

  it('exits 2 naming every bad flag, and on an unknown flag', async () => {
    const bad = await runCli([
      'simulator', '--port', '0', '--rate', '-3', '--latency-ms', '50,10', '--error-rate', 'lots',
      '--close-finished', '500', '--api-key', 'k-hidden-1', '--sessions', '200000',
    ]);
    expect(bad.code).toBe(2);
    for (const flag of ['--rate', '--latency-ms', '--error-rate', '--close-finished', '--sessions']) expect(bad.stderr).toContain(`\`${flag}\``);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).not.toContain('k-hidden-1');

    const unknown = await runCli(['simulator', '--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--no-such-flag');
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    const sim = track(await startSimulator(), 'simulator');
    const taken = await runCli(['simulator', '--port', String(sim.port)]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    await sim.close();
  });
});
