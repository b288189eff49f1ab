import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { DEAD_LETTER_JOB_NAME } from '../../src/shared/names.js';
import type { DeadLetterData } from '../../src/shared/jobs.js';
import { createCloseWorker } from '../../src/worker/index.js';
import { runCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';
import { startPipeline, testLogger, type PipelineFixture } from '../helpers/pipeline.js';

/** What a hostile website, producer or server can put in a string the CLI prints. */
const OSC52 = '\x1b]52;c;aGFja2Vk\x07'; // writes "hacked" to the clipboard
const RED = '\x1b[31m';
const C1_CSI = '\u009b2J'; // one-character CSI: clears the screen on terminals that honour C1
const RLO = '\u202e'; // right-to-left override: reorders what follows

/** Raw control characters that must never reach the terminal (a newline ends a line and is fine). */
// eslint-disable-next-line no-control-regex -- matching raw control characters is the point
const RAW_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Every raw control is absent; each hostile sequence is there in its visible form. */
function expectVisibleOnly(text: string, visible: string[]): void {
  expect(text).not.toMatch(RAW_CONTROLS);
  for (const v of visible) expect(text).toContain(v);
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

async function pipeline(): Promise<PipelineFixture & { env: Record<string, string> }> {
  const p = await startPipeline();
  cleanups.push(() => p.close());
  return { ...p, env: { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix } };
}

/** A tiny stand-in for the Browserbase API (the simulator's answers carry no hostile text). */
async function fakeApi(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closable = track(
    {
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    },
    'fake API',
  );
  cleanups.push(() => closable.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const session = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  status: 'RUNNING',
  region: 'us-west-2',
  keepAlive: false,
  projectId: 'proj',
  startedAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  ...extra,
});

describe('control characters from outside are shown visibly, never sent to the terminal', () => {
  it('dlq list no longer prints a dead letter\'s OSC 52 / colour / C1 sequences raw, and a deadLetteredAt of 1e300 no longer breaks the listing', async () => {
    const p = await pipeline();
    const dlq = p.producer.queues.deadLetterQueue;
    // Letters written raw with BullMQ, as any producer on this Redis could.
    const evilId = `evil${OSC52}${RED}-id`;
    await dlq.add(DEAD_LETTER_JOB_NAME, { sessionId: evilId, errorCode: `REJECTED${C1_CSI}`, httpStatus: 400, message: `denied ${RED}red\x1b[0m ${OSC52} ${RLO}txt`, attemptsMade: 1, deadLetteredAt: 1e300 } as unknown as DeadLetterData, { jobId: 'close-evil' });
    await dlq.add(DEAD_LETTER_JOB_NAME, { sessionId: 42, message: { nested: ['x'] }, attemptsMade: 'many' } as unknown as DeadLetterData, { jobId: 'close-odd' });
    await dlq.add(DEAD_LETTER_JOB_NAME, { sessionId: 'plain-1', errorCode: 'REJECTED', httpStatus: 401, message: 'Invalid API key', attemptsMade: 1, deadLetteredAt: Date.now() } as unknown as DeadLetterData, { jobId: 'close-plain-1' });

    const table = await runCli(['dlq', 'list'], { env: p.env });
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expectVisibleOnly(table.stdout, ['evil\\x1b]52;c;aGFja2Vk\\x07\\x1b[31m-id', 'REJECTED\\x9b2J', 'denied \\x1b[31mred', '\\u202etxt', '(not a time: 1e+300)', 'plain-1', 'Invalid API key']);
    // Every row is one line: nothing from a letter moved the cursor or started a line of its own.
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(4);

    const json = await runCli(['dlq', 'list', '--json'], { env: p.env });
    expect(json.code).toBe(0);
    expect(json.stdout).not.toMatch(RAW_CONTROLS);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows.find((r) => r.id === 'close-evil')).toMatchObject({ sessionId: evilId, code: `REJECTED${C1_CSI}`, deadLetteredAt: '(not a time: 1e+300)' });
    expect(rows.find((r) => r.id === 'close-odd')).toMatchObject({ sessionId: '42', attempts: null, httpStatus: null });
    expect(rows.find((r) => r.id === 'close-plain-1')).toMatchObject({ sessionId: 'plain-1', httpStatus: 401, attempts: 1 });
  });

  it('sessions debug / get / list no longer print page titles, URLs and session fields with escape sequences raw', async () => {
    const title = `Pwned ${OSC52}${RED}title${C1_CSI}`;
    const url = await fakeApi((req, res) => {
      const path = req.url ?? '';
      if (path === '/v1/sessions/abc/debug') {
        const page = { id: `PAGE${RED}`, url: `https://evil.example/${OSC52}`, title, faviconUrl: '', debuggerUrl: 'http://d/p', debuggerFullscreenUrl: `http://d/full${RLO}` };
        return sendJson(res, 200, { debuggerFullscreenUrl: 'http://d/fs', debuggerUrl: 'http://d/dbg', wsUrl: `ws://d/${OSC52}`, pages: [page] });
      }
      if (path === '/v1/sessions/abc') return sendJson(res, 200, session('abc', { status: `RUNNING${RED}`, region: `us${C1_CSI}`, userMetadata: { note: `x${OSC52}` } }));
      if (path.startsWith('/v1/sessions?') || path === '/v1/sessions') return sendJson(res, 200, [session(`sess-${OSC52}`, { userMetadata: { t: `${RLO}y` } })]);
      return sendJson(res, 400, { statusCode: 400, error: 'Bad Request', message: `no ${OSC52} such ${RED}thing` });
    });
    const env = { BROWSERBASE_API_KEY: 'fake-key', BROWSERBASE_BASE_URL: url };

    const debug = await runCli(['sessions', 'debug', 'abc'], { env });
    expect(debug.code).toBe(0);
    expectVisibleOnly(debug.stdout, ['Pwned \\x1b]52;c;aGFja2Vk\\x07\\x1b[31mti', 'https://evil.example/\\x1b]52;c;aGFja2Vk\\x07', 'PAGE\\x1b[31m', 'ws://d/\\x1b]52', 'http://d/full\\u202e']);
    const debugJson = await runCli(['sessions', 'debug', 'abc', '--json'], { env });
    expect(debugJson.stdout).not.toMatch(RAW_CONTROLS);
    expect((JSON.parse(debugJson.stdout) as { pages: Array<{ title: string }> }).pages[0]?.title).toBe(title);

    const get = await runCli(['sessions', 'get', 'abc'], { env });
    expect(get.code).toBe(0);
    expectVisibleOnly(get.stdout, ['RUNNING\\x1b[31m', 'us\\x9b2J', 'x\\u001b]52;c;aGFja2Vk\\u0007']);

    const list = await runCli(['sessions', 'list'], { env });
    expect(list.code).toBe(0);
    expectVisibleOnly(list.stdout, ['sess-\\x1b]52;c;aGFja2Vk\\x07', '\\u202ey']);

    // A server's error message reaches stderr through the CLI's error printer.
    const refused = await runCli(['sessions', 'get', 'other'], { env });
    expect(refused.code).toBe(2);
    expectVisibleOnly(refused.stderr, ['no \\x1b]52;c;aGFja2Vk\\x07 such \\x1b[31mthing', '[REJECTED]']);
  });

  it('close --wait no longer prints a dead letter\'s server message with escape sequences raw', async () => {
    const p = await pipeline();
    const message = `refused ${OSC52} ${RED}now${C1_CSI} ${RLO}!`;
    // The API refuses the close with a hostile message; a follow-up GET shows the session still running.
    const url = await fakeApi((req, res) => {
      const id = decodeURIComponent((req.url ?? '').replace(/^\/v1\/sessions\//, ''));
      if (req.method === 'POST') return sendJson(res, 400, { statusCode: 400, error: 'Bad Request', message });
      return sendJson(res, 200, session(id));
    });
    const client = track(createBrowserbaseClient({ apiKey: 'fake-key', baseUrl: url }), 'client');
    cleanups.push(() => client.close());
    const worker = track(await createCloseWorker({ config: p.config, client, logger: testLogger() }), 'close worker');
    cleanups.push(() => worker.close());

    const human = await runCli(['close', 'victim-1', '--wait'], { env: p.env });
    expect(human.code).toBe(3);
    expectVisibleOnly(human.stdout, ['dead-lettered victim-1: REJECTED (HTTP 400): ', 'refused \\x1b]52;c;aGFja2Vk\\x07 \\x1b[31mnow\\x9b2J \\u202e!']);
    expect(human.stderr).not.toMatch(RAW_CONTROLS);

    const json = await runCli(['close', 'victim-2', '--wait', '--json'], { env: p.env });
    expect(json.code).toBe(3);
    expect(json.stdout).not.toMatch(RAW_CONTROLS);
    const out = JSON.parse(json.stdout) as { wait: { deadLetters: Array<{ message: string }> } };
    expect(out.wait.deadLetters[0]?.message).toContain(message);
  });

  it('close --file no longer echoes a hostile field name or element back raw in its invalid-input report', async () => {
    const p = await pipeline();
    const dir = await mkdtemp(join(tmpdir(), 'bbr-escapes-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'ids.json');
    await writeFile(file, JSON.stringify(['ok-1', { sessionId: 'ok-2', [`k${OSC52}`]: 1 }, [`${RED}x`], 'ok-3']));
    const r = await runCli(['close', '--file', file], { env: p.env });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('accepted 2, duplicate 0, invalid 2');
    expectVisibleOnly(r.stderr, ['invalid element 2: ', 'unknown field(s) `k\\x1b]52;c;aGFja2Vk\\x07`', 'invalid element 3: ']);
    expect(r.stderr).not.toMatch(RAW_CONTROLS);
  });

  it('a bad option value is no longer echoed raw by commander\'s error line (nor an unknown flag)', async () => {
    const bad = await runCli(['sweep', '--older-than', `${OSC52}10m`], { env: {} });
    expect(bad.code).toBe(2);
    expectVisibleOnly(bad.stderr, ["argument '\\x1b]52;c;aGFja2Vk\\x07"]);
    const unknown = await runCli(['demo', `--x${RED}`], { env: {} });
    expect(unknown.code).toBe(2);
    expectVisibleOnly(unknown.stderr, ["unknown option '--x\\x1b[31m'"]);
  });
});
