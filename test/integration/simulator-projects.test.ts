// The simulator with several projects, each with its own keys: what the accounts tests rely on to
// prove a request for one account is never sent with another's key.
import Browserbase from '@browserbasehq/sdk';
import { describe, expect, it } from 'vitest';
import { SimulatorInputError, startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/index.js';
import { runCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

async function start(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const sim = track(await startSimulator({ apiKeys: ['key-a'], projectId: 'proj-a', projects: { 'proj-b': ['key-b', 'key-b2'] }, releaseDelayMs: 0, ...opts }), 'simulator');
  return sim;
}

const request = async (sim: SimulatorHandle, method: string, path: string, key: string, body?: unknown) => {
  const res = await fetch(sim.url + path, {
    method,
    headers: { 'x-bb-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
};
const release = (sim: SimulatorHandle, id: string, key: string) => request(sim, 'POST', `/v1/sessions/${id}`, key, { status: 'REQUEST_RELEASE' });

describe('simulator: several projects, each with its own keys', () => {
  it("a key sees only its project's sessions: another project's session is a 404 and stays RUNNING", async () => {
    const sim = await start();
    const [a] = sim.createSessions(1, { projectId: 'proj-a' });
    const [b] = sim.createSessions(1, { projectId: 'proj-b' });
    const foreign = await release(sim, b as string, 'key-a');
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ statusCode: 404, error: expect.any(String), message: expect.stringContaining(b as string) });
    expect((await request(sim, 'GET', `/v1/sessions/${b}`, 'key-a')).status).toBe(404);
    expect(sim.getSession(b as string)?.status).toBe('RUNNING');

    expect((await release(sim, b as string, 'key-b2')).status).toBe(200);
    expect((await release(sim, a as string, 'key-a')).status).toBe(200);
    await waitFor('both released', () => sim.getSession(b as string)?.status === 'COMPLETED' && sim.getSession(a as string)?.status === 'COMPLETED');

    const listB = await request(sim, 'GET', '/v1/sessions', 'key-b');
    expect((listB.body as unknown as Array<{ id: string }>).map((s) => s.id)).toEqual([b]);
    const projects = await request(sim, 'GET', '/v1/projects', 'key-b');
    expect((projects.body as unknown as Array<{ id: string }>).map((p) => p.id)).toEqual(['proj-b']);
    expect((await request(sim, 'GET', '/v1/projects/proj-a', 'key-b')).status).toBe(404);
    await sim.close();
  });

  it('counts each project on its own (byProject) and names the project, never the key, in the call log', async () => {
    const sim = await start();
    const as = sim.createSessions(3, { projectId: 'proj-a' });
    const bs = sim.createSessions(2, { projectId: 'proj-b' });
    for (const id of as) await release(sim, id, 'key-a');
    for (const id of bs) await release(sim, id, 'key-b');
    await release(sim, as[0] as string, 'key-b'); // a foreign close
    await request(sim, 'GET', '/v1/sessions', 'not-a-key');
    const stats = sim.stats();
    expect(stats.byProject['proj-a']).toMatchObject({ requests: 3, released: 3, notFound: 0, byStatus: { '200': 3 } });
    expect(stats.byProject['proj-b']).toMatchObject({ requests: 3, released: 2, notFound: 1, byStatus: { '200': 2, '404': 1 } });
    expect(stats.byProject['proj-b']?.sessions.COMPLETED).toBe(2);
    expect(stats.requests.total).toBe(7);
    const calls = sim.calls();
    expect(calls.filter((c) => c.project === 'proj-b')).toHaveLength(3);
    expect(calls.filter((c) => c.project === undefined)).toHaveLength(1);
    expect(JSON.stringify(calls)).not.toMatch(/key-[ab]/);
    const admin = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as typeof stats;
    expect(admin.byProject['proj-a']?.released).toBe(3);
    await sim.close();
  });

  it("each key has its own token bucket: one project's 429s leave the other's requests alone", async () => {
    const sim = await start({ rate: 2, burst: 2 });
    const statuses = async (key: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await request(sim, 'GET', '/v1/sessions', key)).status);
      return out;
    };
    expect(await statuses('key-a', 4)).toContain(429);
    expect(await statuses('key-b', 2)).toEqual([200, 200]);
    await sim.close();
  });

  it('a revoked key answers 401 until reset; the admin API does the same and never echoes the key', async () => {
    const sim = await start();
    const [b] = sim.createSessions(1, { projectId: 'proj-b' });
    sim.revokeKey('key-b');
    expect((await release(sim, b as string, 'key-b')).status).toBe(401);
    expect((await release(sim, b as string, 'key-b2')).status).toBe(200);
    const res = await fetch(`${sim.url}/_sim/keys/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'key-a' }) });
    expect(await res.json()).toEqual({ revoked: true });
    expect((await request(sim, 'GET', '/v1/sessions', 'key-a')).status).toBe(401);
    const bad = await fetch(`${sim.url}/_sim/keys/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 7 }) });
    expect(bad.status).toBe(400);
    sim.reset();
    expect((await request(sim, 'GET', '/v1/sessions', 'key-a')).status).toBe(200);
    await sim.close();
  });

  it('the official SDK works per project: its key lists its own sessions only', async () => {
    const sim = await start();
    sim.createSessions(2, { projectId: 'proj-a' });
    const [b] = sim.createSessions(1, { projectId: 'proj-b' });
    const sdk = new Browserbase({ apiKey: 'key-b', baseURL: sim.url, maxRetries: 0 });
    const listed = await sdk.sessions.list();
    expect(listed.map((s) => s.id)).toEqual([b]);
    const [project] = await sdk.projects.list();
    expect(project?.id).toBe('proj-b');
    await sim.close();
  });

  it('refuses a key given to two projects, without showing the key', async () => {
    const err: unknown = await startSimulator({ apiKeys: ['shared-secret-key'], projects: { other: ['shared-secret-key'] } }).then(
      (sim) => sim.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SimulatorInputError);
    expect((err as Error).message).toMatch(/`projects\.other`: a key belongs to one project/);
    expect((err as Error).message).not.toContain('shared-secret-key');
  });

  it('bb-reaper simulator --project adds a project; a malformed one is a usage error (exit 2)', async () => {
    const bad = await runCli(['simulator', '--port', '0', '--project', 'no-equals-sign']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Expected `--project` to be <project id>=<key>\[,<key>\.\.\.\], e\.g\. proj-b=key-b, got `no-equals-sign`/);
    const empty = await runCli(['simulator', '--port', '0', '--project', 'proj-x=secret-one,']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).not.toContain('secret-one');
  });
});
