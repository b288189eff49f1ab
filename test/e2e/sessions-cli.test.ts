import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/wait.js';

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

  it('create takes --context-id with --persist, --extension-id, --proxies and --browser-settings; get shows runtime, proxies and the context', async () => {
    const created = await runCli(
      [
        'sessions', 'create', '--json',
        '--context-id', 'ctx_auth', '--persist',
        '--extension-id', 'ext_1',
        '--proxies', '[{"type":"browserbase","geolocation":{"country":"US"}},{"type":"external","server":"http://proxy.test:8080","password":"hunter2"}]',
        '--browser-settings', '{"viewport":{"width":1280,"height":720},"blockAds":true,"solveCaptchas":false,"recordSession":false}',
      ],
      { env },
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const s = JSON.parse(created.stdout) as { id: string; contextId: string };
    expect(s.contextId).toBe('ctx_auth');
    const isCreate = (c: { method: string; path: string; body?: unknown }) => c.method === 'POST' && c.path === '/v1/sessions' && (c.body as { extensionId?: unknown } | undefined)?.extensionId === 'ext_1';
    await waitFor('the create call in the log', () => sim.calls().some(isCreate));
    const body = sim.calls().find(isCreate)?.body;
    expect(body).toEqual({
      extensionId: 'ext_1',
      proxies: [{ type: 'browserbase', geolocation: { country: 'US' } }, { type: 'external', server: 'http://proxy.test:8080', password: 'hunter2' }],
      browserSettings: { viewport: { width: 1280, height: 720 }, blockAds: true, solveCaptchas: false, recordSession: false, context: { id: 'ctx_auth', persist: true } },
    });
    const got = await runCli(['sessions', 'get', s.id], { env });
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^status\s+RUNNING$/m);
    expect(got.stdout).toMatch(/^runtime\s+\d+s so far$/m);
    expect(got.stdout).toMatch(/^region\s+us-west-2$/m);
    expect(got.stdout).toMatch(/^keepAlive\s+no$/m);
    expect(got.stdout).toMatch(/^contextId\s+ctx_auth$/m);
    // The simulator does not return a session's proxies: the row says so rather than guessing.
    expect(got.stdout).toMatch(/^proxies\s+-$/m);
  });

  it("get shows a session's configured proxies with passwords masked and control characters visible", async () => {
    // A stand-in API: the simulator does not return a session's proxies; the real API may.
    // Built at each request, so the runtime the CLI prints is measured from its answer (65 s), however slow the machine.
    const session = () => {
      const now = Date.now();
      return {
        id: 'sess_proxied', status: 'RUNNING', region: 'us-east-1', keepAlive: true, projectId: 'p', proxyBytes: 2048,
        createdAt: new Date(now - 65_000).toISOString(), updatedAt: new Date(now).toISOString(), startedAt: new Date(now - 65_000).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(),
        proxies: [{ type: 'external', server: 'http://proxy.test:8080', username: 'u', password: 'hunter2' }],
        userMetadata: { note: 'a\u001b[2Jb' },
      };
    };
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(session())));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const got = await runCli(['sessions', 'get', 'sess_proxied'], { env: { ...env, BROWSERBASE_BASE_URL: `http://127.0.0.1:${port}` } });
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(/^proxies\s+\[\{"type":"external","server":"http:\/\/proxy\.test:8080","username":"u","password":"\*\*\*"\}\]$/m);
      expect(got.stdout).not.toContain('hunter2');
      // 1m05s at the answer; a busy machine may take a few seconds more to print it
      expect(got.stdout).toMatch(/^runtime\s+1m(0[5-9]|[1-5]\d)s so far$/m);
      expect(got.stdout).toMatch(/^proxyBytes\s+2048$/m);
      expect(got.stdout).not.toContain('\u001b');
      expect(got.stdout).toMatch(/^userMetadata\s+\{"note":"a\\u001b\[2Jb"\}$/m);
    } finally {
      server.close();
      await once(server, 'close');
    }
  });

  it('logs prints one line per CDP call (time, method, page) or JSON', async () => {
    const [id] = sim.createSessions(1) as [string];
    const human = await runCli(['sessions', 'logs', id], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^2 log entries\nTIME\s+METHOD\s+PAGE\n/);
    expect(human.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+Z\s+Target\.createTarget\s+0$/m);
    expect(human.stdout).toMatch(/^\S+\s+Page\.navigate\s+0$/m);
    const json = await runCli(['sessions', 'logs', id, '--json'], { env });
    const logs = JSON.parse(json.stdout) as Array<{ method: string; sessionId: string }>;
    expect(logs.map((l) => [l.method, l.sessionId])).toEqual([['Target.createTarget', id], ['Page.navigate', id]]);
    const missing = await runCli(['sessions', 'logs', 'no-such-session'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404.*\[NOT_FOUND\]/);
  });

  it('checks every create option before any request: each bad one named, with the field and the value, exit 2', async () => {
    const before = sim.calls().length;
    const cases: Array<[string[], RegExp]> = [
      [['--proxies', 'yes'], /Expected `--proxies` to be true or a JSON array of proxy configs, got `yes` \(.*JSON/],
      [['--proxies', '"true"'], /Expected `--proxies` to be true or an array of proxy configs, got `"true"`/],
      [['--proxies', '[{"type":"tor"}]'], /Expected `--proxies` field `\[0\]\.type` to be a proxy config whose `type` is "browserbase", "external" \(with a `server`\) or "none", got `"tor"`/],
      [['--proxies', '[1]'], /Expected `--proxies` field `\[0\]` to be a proxy config whose `type` is/],
      [['--proxies', '[{"type":"external"}]'], /Expected `--proxies` field `\[0\]\.server` to be a string, got `nothing`/],
      [['--proxies', '[{"type":"browserbase","geolocation":{"country":"USA"}}]'], /field `\[0\]\.geolocation\.country` to be a 2-letter code, got `"USA"`/],
      [['--browser-settings', '{"viewport":{"width":1.5}}'], /Expected `--browser-settings` field `viewport\.width` to be an integer, got `1\.5`/],
      [['--browser-settings', '{"blockAds":"yes"}'], /field `blockAds` to be a boolean, got `"yes"`/],
      [['--browser-settings', '[]'], /Expected `--browser-settings` to be a JSON object, got `\[\]`/],
      [['--browser-settings', '{viewport'], /Expected `--browser-settings` to be a JSON object, got `\{viewport` \(/],
      [['--persist'], /`--persist` saves a context: give `--context-id <id>` too/],
      [['--context-id', ''], /Expected `--context-id` to be a non-empty id, got ``/],
      [['--context-id', 'a', '--browser-settings', '{"context":{"id":"b"}}'], /`--context-id` and `--browser-settings` `context` both name a context/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['sessions', 'create', ...args], { env })));
    cases.forEach(([args, message], i) => {
      const r = results[i] as { code: number | null; stderr: string };
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    });
    // Several bad flags: all named in one message.
    const all = await runCli(['sessions', 'create', '--proxies', '1', '--browser-settings', '{"os":"beos"}', '--user-metadata', '[]'], { env });
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(/`--user-metadata`.*; .*`--proxies`.*; .*`--browser-settings` field `os` to be one of windows, mac/);
    expect(sim.calls().length).toBe(before);
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

  // Last: it leaves a COMPLETED session, which the list test's `--status COMPLETED` must not see.
  it('get shows the runtime of an ended session from startedAt to endedAt', async () => {
    const [id] = sim.createSessions(1, { startedAgoSeconds: 252 }) as [string];
    await fetch(`${sim.url}/v1/sessions/${id}`, { method: 'POST', headers: { 'X-BB-API-Key': KEY, 'content-type': 'application/json' }, body: '{"status":"REQUEST_RELEASE"}' });
    await waitFor('the session to complete', () => sim.getSession(id)?.status === 'COMPLETED');
    const got = await runCli(['sessions', 'get', id], { env });
    expect(got.stdout).toMatch(/^status\s+COMPLETED$/m);
    expect(got.stdout).toMatch(/^runtime\s+4m1[2-9]s$/m);
    expect(got.stdout).toMatch(/^endedAt\s+\S+$/m);
  });
});
