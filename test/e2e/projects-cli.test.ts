import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli } from '../helpers/cli-process.js';

const KEY = 'projects-cli-key';
const PROJECT = 'proj-cli';
let sim: SimulatorHandle;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulator({ apiKeys: [KEY], projectId: PROJECT, concurrencyLimit: 7 });
  env = { BROWSERBASE_API_KEY: KEY, BROWSERBASE_BASE_URL: sim.url };
});
afterAll(async () => {
  await sim.close();
});

describe('bb-reaper projects', () => {
  it('list prints a table (id, name, concurrency, default timeout) or JSON', async () => {
    const table = await runCli(['projects', 'list'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^1 project\nPROJECT\s+NAME\s+CONCURRENCY\s+DEFAULT TIMEOUT\n/);
    expect(table.stdout).toMatch(new RegExp(`^${PROJECT}\\s+Simulated project ${PROJECT}\\s+7\\s+3600s$`, 'm'));
    const json = await runCli(['projects', 'list', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: PROJECT, concurrency: 7, defaultTimeout: 3600 })]);
  });

  it('get shows one project; usage shows browser minutes and proxy bytes', async () => {
    const got = await runCli(['projects', 'get', PROJECT], { env });
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^id\\s+${PROJECT}$`, 'm'));
    expect(got.stdout).toMatch(/^concurrency\s+7$/m);
    expect(got.stdout).toMatch(/^defaultTimeout\s+3600s$/m);
    expect(got.stdout).toMatch(/^ownerId\s+\S+$/m);
    sim.createSessions(2, { startedAgoSeconds: 150 });
    const usage = await runCli(['projects', 'usage', PROJECT], { env });
    expect(usage.code).toBe(0);
    // Two sessions each billed at least their run time rounded up (3 minutes).
    const minutes = Number(/^browserMinutes\s+(\d+)$/m.exec(usage.stdout)?.[1]);
    expect(minutes).toBeGreaterThanOrEqual(6);
    expect(usage.stdout).toMatch(/^proxyBytes\s+0$/m);
    const json = await runCli(['projects', 'usage', PROJECT, '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ browserMinutes: expect.any(Number), proxyBytes: 0 });
  });

  it('maps errors to exit codes: unknown project 1, an id that is not one path segment 2, missing key 2', async () => {
    const cases: Array<[string[], number, RegExp, Record<string, string>?]> = [
      [['projects', 'get', 'someone-else'], 1, /404.*Project someone-else not found.*\[NOT_FOUND\]/],
      [['projects', 'usage', 'someone-else'], 1, /404.*\[NOT_FOUND\]/],
      [['projects', 'get', '../sessions'], 2, /Invalid project id.*\[INVALID_SESSION_ID\]/],
      [['projects', 'list'], 1, /401.*\[REJECTED\]/, { BROWSERBASE_API_KEY: 'wrong' }],
      [['projects', 'list'], 2, /BROWSERBASE_API_KEY.*required/, { BROWSERBASE_API_KEY: '' }],
    ];
    const results = await Promise.all(cases.map(([args, , , extra]) => runCli(args, { env: { ...env, ...extra } })));
    cases.forEach(([args, code, message], i) => {
      const r = results[i] as { code: number | null; stderr: string };
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain(KEY);
    });
  });
});
