import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createBrowserbaseClient, type BrowserbaseError } from '../../src/browserbase/index.js';
import { track } from '../helpers/context.js';
import { freePort } from '../helpers/redis-server.js';
import { caught, fakeSession, sendJson, useScriptedServers } from './browserbase-scripted-server.js';

const KEY = 'bb_live_SECRET-fault-test-key-9876543210';
const { setup, closeLater } = useScriptedServers(KEY);

/** Resolves once the scripted server has received `n` requests (the client is mid-flight). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((r) => setImmediate(r));
  }
}

describe('timeouts', () => {
  it('a server that never answers -> TRANSIENT headers timeout', async () => {
    const { client } = await setup(() => {}, { headersTimeoutMs: 200 });
    const err = await caught(client.getSession('a'));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toBe('Browserbase request GET /v1/sessions/a failed: no response headers within 200 ms (headers timeout, UND_ERR_HEADERS_TIMEOUT)');
    expect((err.cause as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(err.statusCode).toBeUndefined();
  });

  it('per-request headersTimeoutMs overrides the client default', async () => {
    const { client } = await setup(() => {});
    const err = await caught(client.closeSession('a', { headersTimeoutMs: 150 }));
    expect(err.message).toMatch(/no response headers within 150 ms/);
  });

  it('a body that stalls -> TRANSIENT body timeout', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"id":');
    }, { bodyTimeoutMs: 200 });
    const err = await caught(client.getSession('a'));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toMatch(/the response body stalled for 200 ms \(body timeout, UND_ERR_BODY_TIMEOUT\)/);
  });

  it('a listener whose accept queue is full -> TRANSIENT connect timeout', async () => {
    // A real process that listens with backlog 1 and then blocks its event loop (Atomics.wait, no
    // CPU) so it never accepts: once two handshakes fill the queue, the kernel drops further SYNs
    // and connecting hangs.
    const child = spawn(
      process.execPath,
      ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,120000)})"],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const fillers: Socket[] = [];
    closeLater({
      close: async () => {
        fillers.forEach((s) => s.destroy());
        if (child.exitCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }
      },
    });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    for (let i = 0; i < 4; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => {}));
    await until(() => fillers.filter((s) => !s.connecting).length >= 2);
    const client = closeLater(track(createBrowserbaseClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}`, connectTimeoutMs: 200 }), 'browserbase client'));
    const err = await caught(client.getSession('a'));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toMatch(/no connection within 200 ms \(connect timeout, UND_ERR_CONNECT_TIMEOUT\)/);
  });
});

describe('abort and socket failures', () => {
  it('aborting mid-request -> ABORTED at once, with the reason as cause', async () => {
    const { server, client } = await setup(() => {});
    const ac = new AbortController();
    const p = client.getSession('a', { signal: ac.signal });
    await until(() => server.requests.length === 1);
    const reason = new Error('shutting down');
    ac.abort(reason);
    const err = await caught(p);
    expect(err).toMatchObject({ code: 'ABORTED', request: { method: 'GET', path: '/v1/sessions/a' } });
    expect(err.cause).toBe(reason);
    expect(err.message).toBe('Browserbase request GET /v1/sessions/a was aborted by the caller');
  });

  it('aborting while the body streams -> ABORTED', async () => {
    const { server, client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('[');
    });
    const ac = new AbortController();
    const p = client.listSessions({}, { signal: ac.signal });
    await until(() => server.requests.length === 1);
    ac.abort();
    expect((await caught(p)).code).toBe('ABORTED');
  });

  it('an already aborted signal -> ABORTED with no request', async () => {
    const { server, client } = await setup();
    expect((await caught(client.closeSession('a', { signal: AbortSignal.abort() }))).code).toBe('ABORTED');
    expect((await caught(client.createSession({}, { signal: AbortSignal.abort() }))).code).toBe('ABORTED');
    expect(server.requests).toHaveLength(0);
  });

  it('a connection reset -> TRANSIENT', async () => {
    const { client } = await setup((req) => req.socket.destroy());
    const err = await caught(client.closeSession('a'));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toMatch(/^Browserbase request POST \/v1\/sessions\/a failed: .+\((UND_ERR_SOCKET|ECONNRESET)\)$/);
  });

  it('a refused connection -> TRANSIENT', async () => {
    const port = await freePort();
    const client = closeLater(track(createBrowserbaseClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}` }), 'browserbase client'));
    const err = await caught(client.getSession('a'));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('keep-alive pool', () => {
  it('reuses one socket for 50 sequential requests', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, fakeSession('a')));
    for (let i = 0; i < 50; i++) await client.getSession(`s${i}`);
    expect(server.requests).toHaveLength(50);
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it('never opens more sockets than `connections`, however many requests run at once', async () => {
    const { server, client } = await setup((_req, res) => setTimeout(() => sendJson(res, 200, fakeSession('a')), 5), { connections: 4 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.getSession(`s${i}`)));
    expect(results).toHaveLength(50);
    expect(server.connections()).toBeLessThanOrEqual(4);
  });
});

describe('the API key never appears in an error', () => {
  function assertNoKey(err: BrowserbaseError): void {
    for (const text of [err.message, JSON.stringify(err), inspect(err, { depth: 10 }), String(err.serverMessage), inspect(err.cause, { depth: 10 })]) {
      expect(text).not.toContain(KEY);
    }
  }

  it('not when the server echoes it back in an error body', async () => {
    const { client } = await setup((req, res) => sendJson(res, 401, { message: `Invalid API key ${String(req.headers['x-bb-api-key'])}` }));
    const err = await caught(client.getSession('a'));
    expect(err.serverMessage).toBe('Invalid API key [redacted]');
    assertNoKey(err);
  });

  it('not when the server echoes it in a broken response (parser error cause)', async () => {
    const { client } = await setup((req) => {
      req.socket.end(`HTTP/1.1 200 OK\r\nContent-Length: nonsense ${String(req.headers['x-bb-api-key'])}\r\n\r\n`);
    });
    const err = await caught(client.getSession('a'));
    expect(err.code).toBe('TRANSIENT');
    assertNoKey(err);
  });

  it('not in timeouts, aborts, resets or malformed answers', async () => {
    const { server, client } = await setup((req, res) => {
      if (req.url?.endsWith('/reset')) return req.socket.destroy();
      if (req.url?.endsWith('/malformed')) return sendJson(res, 200, { echo: req.headers['x-bb-api-key'] });
    });
    const errors = [
      await caught(client.getSession('hang', { headersTimeoutMs: 100 })),
      await caught(client.getSession('reset')),
      await caught(client.getSession('malformed')),
      await caught(client.getSession('x', { signal: AbortSignal.abort() })),
    ];
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    expect(errors.map((e) => e.code)).toEqual(['TRANSIENT', 'TRANSIENT', 'TRANSIENT', 'ABORTED']);
    errors.forEach(assertNoKey);
  });
});
