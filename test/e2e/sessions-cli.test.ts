import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli } from '../helpers/cli-process.js';

const KEY = 'sessions-cli-key';
let sim: SimulatorHandle;
let env: Record<string, string>;
let dir: string;

// One simulator for the file: every test only reads or creates its own sessions.
beforeAll(async () => {
  sim = await startSimulator({ apiKeys: [KEY] });
  env = { BROWSERBASE_API_KEY: KEY, BROWSERBASE_BASE_URL: sim.url };
  dir = await mkdtemp(join(tmpdir(), 'bbr-sessions-'));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bb-reaper sessions', () => {
  it('create takes --keep-alive, --timeout, --region and --user-metadata; get shows the session', async () => {
    const created = await runCli(['sessions', 'create', '--keep-alive', '--timeout', '600', '--region', 'eu-central-1', '--user-metadata', '{"owner":"cli-test","n":1}', '--json'], { env });
    expect(created.code).toBe(0);
    const s = JSON.parse(created.stdout) as { id: string; keepAlive: boolean; region: string; userMetadata: unknown; status: string; connectUrl: string };
    expect(s).toMatchObject({ keepAlive: true, region: 'eu-central-1', userMetadata: { owner: 'cli-test', n: 1 }, status: 'RUNNING' });
    expect(s.connectUrl).toBeTruthy();
    const got = await runCli(['sessions', 'get', s.id], { env });
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^id\\s+${s.id}$`, 'm'));
    expect(got.stdout).toMatch(/^keepAlive\s+yes$/m);
    expect(got.stdout).toMatch(/^userMetadata\s+\{"owner":"cli-test","n":1\}$/m);
    const human = await runCli(['sessions', 'create'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^connectUrl\s+\S+/m);
  });

  it('list filters by --status and --q, as a table or JSON', async () => {
    const [mine] = sim.createSessions(1, { userMetadata: { team: 'reapers' }, startedAgoSeconds: 120 });
    sim.createSessions(2, { userMetadata: { team: 'others' } });
    const q = await runCli(['sessions', 'list', '--status', 'RUNNING', '--q', "user_metadata['team']:'reapers'", '--json'], { env });
    expect(q.code).toBe(0);
    expect((JSON.parse(q.stdout) as Array<{ id: string }>).map((s) => s.id)).toEqual([mine]);
    const table = await runCli(['sessions', 'list', '--q', "user_metadata['team']:'reapers'"], { env });
    expect(table.stdout).toMatch(/^1 session\n/);
    expect(table.stdout).toMatch(new RegExp(`${mine}\\s+RUNNING\\s+2m[0-5]\\ds\\s+us-west-2\\s+no\\s+\\{"team":"reapers"\\}`));
    const completed = await runCli(['sessions', 'list', '--status', 'COMPLETED', '--json'], { env });
    expect(JSON.parse(completed.stdout)).toEqual([]);
  });

  it('debug prints the live URLs; recording writes rrweb JSON to --out', async () => {
    const [id] = sim.createSessions(1) as [string];
    const debug = await runCli(['sessions', 'debug', id], { env });
    expect(debug.code).toBe(0);
    expect(debug.stdout).toMatch(/^debugger \(fullscreen\)\s+\S+/m);
    expect(debug.stdout).toMatch(/^websocket\s+\S+/m);
    const out = join(dir, 'rec.json');
    const rec = await runCli(['sessions', 'recording', id, '--out', out], { env });
    expect(rec.code).toBe(0);
    const events = JSON.parse(await readFile(out, 'utf8')) as Array<{ sessionId: string; type: number; timestamp: number }>;
    expect(Array.isArray(events)).toBe(true);
    expect(rec.stderr).toContain(`wrote ${events.length} rrweb event`);
    for (const e of events) expect(e).toMatchObject({ sessionId: id, type: expect.any(Number), timestamp: expect.any(Number) });
    const toStdout = await runCli(['sessions', 'recording', id], { env });
    expect(JSON.parse(toStdout.stdout)).toEqual(events);
  });

  it('maps errors to exit codes: bad input 2, unknown session or refused key 1, missing key 2', async () => {
    const cases: Array<[string[], number, RegExp, Record<string, string>?]> = [
      [['sessions', 'get', 'no-such-session'], 1, /404.*\[NOT_FOUND\]/],
      [['sessions', 'get', 'a/b'], 2, /\[INVALID_SESSION_ID\]/],
      [['sessions', 'list', '--status', 'DONE'], 2, /`--status` to be one of PENDING, RUNNING/],
      [['sessions', 'list', '--q', 'team=x'], 2, /400.*\[REJECTED\]/],
      [['sessions', 'create', '--timeout', '30'], 2, /`--timeout` to be an integer from 60 to 21600.*got `30`/],
      [['sessions', 'create', '--region', 'mars-1'], 2, /`--region` to be one of/],
      [['sessions', 'create', '--user-metadata', '[1]'], 2, /`--user-metadata` to be a JSON object/],
      [['sessions', 'create', '--user-metadata', `{"k":"${'x'.repeat(600)}"}`], 2, /under 512 characters/],
      [['sessions', 'list'], 1, /401.*\[REJECTED\]/, { BROWSERBASE_API_KEY: 'wrong' }],
      [['sessions', 'list'], 2, /BROWSERBASE_API_KEY.*required/, { BROWSERBASE_API_KEY: '' }],
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
