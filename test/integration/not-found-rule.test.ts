import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBrowserbaseClient, MAX_ERROR_BODY_BYTES, MAX_SERVER_MESSAGE_CHARS, type BrowserbaseClient } from '../../src/browserbase/index.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';
import { startPipeline } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';
import { caught, fakeSession, sendJson, useScriptedServers } from './browserbase-scripted-server.js';

// "The 404 rule": a 404 means "already gone" only when it is Browserbase's own answer (its
// documented JSON error body, not "no such route"), and a close that carried a projectId checks
// the session is not simply in another project. Before, any 404 was a successful close while the
// session kept running and billing.

const KEY = 'bb_live_not-found-rule-key-4b1d';
const { setup, closeLater } = useScriptedServers(KEY);

/** A stand-in for a proxy or a misconfigured endpoint: every request gets this 404. */
function proxy404(type: string | undefined, body: string) {
  return setup((_req, res) => {
    res.writeHead(404, type === undefined ? {} : { 'content-type': type });
    res.end(body);
  });
}

describe('a 404 that is not Browserbase’s is not "already gone"', () => {
  it.each([
    ['a proxy’s text/html page', 'text/html', '<html><body><h1>404 Not Found</h1>nginx</body></html>', /with text\/html "<html><body><h1>404 Not Found<\/h1>nginx<\/body><\/html>"/],
    ['a proxy’s JSON {"error":"route not found"}', 'application/json', '{"error":"route not found"}', /with application\/json "\{\\"error\\":\\"route not found\\"\}"/],
    ['an empty body', 'application/json', '', /with application\/json and an empty body/],
    ['a non-JSON body without a content type', undefined, 'Not Found', /with no content-type "Not Found"/],
    ['JSON whose statusCode is not 404', 'application/json', '{"statusCode":200,"error":"Not Found","message":"nope"}', /not Browserbase's JSON error body/],
  ])('a close answered 404 with %s is REJECTED, never already_gone', async (_label, type, body, described) => {
    const { server, client } = await proxy404(type, body);
    const err = await caught(client.closeSession('a'));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404, request: { method: 'POST', path: '/v1/sessions/a' } });
    expect(err.message).toMatch(/^The server answered 404 Not Found to POST \/v1\/sessions\/a with /);
    expect(err.message).toMatch(described);
    expect(err.message).toMatch(/this 404 does not say the session is gone: check BROWSERBASE_BASE_URL$/);
    expect(err.serverMessage).toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });

  it('a follow-up GET answered by a proxy’s 404 after a 400 is that error, not already_gone', async () => {
    const { client } = await setup((req, res) => {
      if (req.method === 'POST') return sendJson(res, 400, { statusCode: 400, error: 'Bad Request', message: 'already ended?' });
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    });
    const err = await caught(client.closeSession('a'));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404, request: { method: 'GET' } });
  });

  it('verify polling answered by a proxy’s 404 is that error, not verified', async () => {
    const { client } = await setup((req, res) => {
      if (req.method === 'POST') return sendJson(res, 200, fakeSession('a', 'RUNNING'));
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    });
    const err = await caught(client.closeSession('a', { verify: true }));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404, request: { method: 'GET' } });
  });

  it('getSession answered by a proxy’s 404 is REJECTED, not NOT_FOUND', async () => {
    const { client } = await proxy404('text/html', '<h1>Not Found</h1>');
    expect(await caught(client.getSession('a'))).toMatchObject({ code: 'REJECTED', statusCode: 404 });
  });

  it('Browserbase’s 404 body still means already gone (also with message as a list)', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 404, { statusCode: 404, error: 'Not Found', message: ['Session a not found'] }));
    expect(await client.closeSession('a')).toEqual({ id: 'a', status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 });
  });

  it('a 404 whose body fails to arrive is TRANSIENT (retried), not already_gone', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"statusCode":404,');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect((await caught(client.closeSession('a'))).code).toBe('TRANSIENT');
  });

  it('the key echoed in a proxy’s 404 page never reaches the message', async () => {
    const { client } = await setup((req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(`<p>no route for key ${String(req.headers['x-bb-api-key'])}</p>`);
    });
    const err = await caught(client.closeSession('a'));
    expect(err.message).toContain('[redacted]');
    expect(err.message).not.toContain(KEY);
  });
});

describe('the 404 rule against the simulator', () => {
  let sim: SimulatorHandle;
  let client: BrowserbaseClient;
  beforeEach(async () => {
    sim = track(await startSimulator({ apiKeys: [KEY] }), 'simulator');
    client = track(createBrowserbaseClient({ apiKey: KEY, baseUrl: sim.url }), 'browserbase client');
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('the simulator’s own 404 for an unknown id still means already gone', async () => {
    const id = randomUUID();
    expect(await client.closeSession(id)).toEqual({ id, status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 });
  });

  it('a wrong BROWSERBASE_BASE_URL path ("Route … not found") is no longer reported as already gone', async () => {
    const [id] = sim.createSessions(1);
    const wrong = closeLater(track(createBrowserbaseClient({ apiKey: KEY, baseUrl: `${sim.url}/api` }), 'browserbase client'));
    const err = await caught(wrong.closeSession(id!));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404, request: { method: 'POST', path: `/api/v1/sessions/${id}` } });
    expect(err.message).toBe(
      `The server answered 404 Not Found to POST /api/v1/sessions/${id}: "Route POST:/api/v1/sessions/${id} not found" (no such route); this 404 does not say the session is gone: check BROWSERBASE_BASE_URL`,
    );
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
  });

  it('a close with a wrong projectId is no longer reported as already gone while the session runs', async () => {
    const [id] = sim.createSessions(1);
    const err = await caught(client.closeSession(id!, { projectId: 'proj-of-someone-else' }));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404, request: { method: 'POST', path: `/v1/sessions/${id}` } });
    expect(err.message).toBe(
      `Session ${id} is still RUNNING, but closing it with projectId "proj-of-someone-else" answered 404: the session is not in that project (check the close's projectId or BROWSERBASE_PROJECT_ID)`,
    );
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    // A call joins the simulator's log when its response's socket write ends, which can come after the client has the answer.
    await waitFor('both calls in the call log', () => sim.calls().length >= 2, 10_000);
    expect(sim.calls().map((c) => `${c.method} ${c.status}`)).toEqual(['POST 404', 'GET 200']);
  });

  it('a close with a projectId of an unknown id is already gone after one GET', async () => {
    const id = randomUUID();
    expect(await client.closeSession(id, { projectId: 'sim-project' })).toEqual({ id, status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 });
    // A call joins the simulator's log when its response's socket write ends, which can come after the client has the answer.
    await waitFor('both calls in the call log', () => sim.calls().length >= 2, 10_000);
    expect(sim.calls().map((c) => `${c.method} ${c.status}`)).toEqual(['POST 404', 'GET 404']);
  });

  it('a close with the right projectId still closes', async () => {
    const [id] = sim.createSessions(1);
    expect(await client.closeSession(id!, { projectId: 'sim-project' })).toMatchObject({ outcome: 'closed', httpStatus: 200 });
  });
});

describe('API answers are capped', () => {
  it(`serverMessage is cut at ${MAX_SERVER_MESSAGE_CHARS} characters with "…", and control characters never reach the message`, async () => {
    const long = `\u001b]52;c;evil\u0007${'x'.repeat(20_000)}`;
    const { client } = await setup((_req, res) => sendJson(res, 400, { statusCode: 400, error: 'Bad Request', message: long }));
    const err = await caught(client.getSession('a'));
    expect(err.serverMessage).toHaveLength(MAX_SERVER_MESSAGE_CHARS);
    expect(err.serverMessage!.endsWith('…')).toBe(true);
    expect(err.serverMessage!.startsWith(long.slice(0, 50))).toBe(true);
    expect(err.message).toMatch(/^Browserbase answered 400 Bad Request to GET \/v1\/sessions\/a: \\x1b\]52;c;evil\\x07x+…$/);
    expect(err.message.length).toBeLessThan(MAX_SERVER_MESSAGE_CHARS + 100);
  });

  /** A server that streams `total` bytes after `head`, counting what the socket accepted. */
  async function streamingServer(status: number, headers: Record<string, string>, total: number) {
    const seen = { written: 0, finished: false, closed: false };
    const server = createServer((_req, res: ServerResponse) => {
      res.writeHead(status, headers);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.on('close', () => (seen.closed = true));
      const pump = () => {
        while (seen.written < total) {
          seen.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(() => (seen.finished = true));
      };
      pump();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    closeLater({
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    });
    const client = closeLater(track(createBrowserbaseClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}` }), 'browserbase client'));
    return { seen, client };
  }

  it('a 50 MB error body is not held whole: the client reads 64 KiB and drops the connection', async () => {
    const { seen, client } = await streamingServer(500, { 'content-type': 'text/html' }, 50 * 1024 * 1024);
    const err = await caught(client.getSession('a'));
    expect(err).toMatchObject({ code: 'TRANSIENT', statusCode: 500 });
    expect(err.message).toBe('Browserbase answered 500 Internal Server Error to GET /v1/sessions/a (no message)');
    await waitFor('the server to see the connection close', () => seen.closed, 10_000, 10);
    expect(seen.finished).toBe(false);
    expect(seen.written).toBeLessThan(20 * 1024 * 1024);
  });

  it('a 50 MB 404 page is REJECTED with a bounded preview', async () => {
    const { seen, client } = await streamingServer(404, { 'content-type': 'text/html' }, 50 * 1024 * 1024);
    const err = await caught(client.closeSession('a'));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404 });
    expect(err.message).toContain(`(more than ${MAX_ERROR_BODY_BYTES} bytes)`);
    expect(err.message.length).toBeLessThan(400);
    await waitFor('the server to see the connection close', () => seen.closed, 10_000, 10);
    expect(seen.finished).toBe(false);
  });

  it('a 2xx declaring more than 64 MiB is TRANSIENT "answer too large" without being read', async () => {
    const { seen, client } = await streamingServer(200, { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) }, 200 * 1024 * 1024);
    const err = await caught(client.listSessions());
    expect(err).toMatchObject({ code: 'TRANSIENT', statusCode: 200 });
    expect(err.message).toBe('Browserbase answered 200 to GET /v1/sessions with a body larger than 67108864 bytes, the most the client reads: answer too large');
    await waitFor('the server to see the connection close', () => seen.closed, 10_000, 10);
    expect(seen.written).toBeLessThan(20 * 1024 * 1024);
  });

  it('a chunked 2xx beyond 64 MiB is TRANSIENT "answer too large" once the limit is reached', async () => {
    const { seen, client } = await streamingServer(200, { 'content-type': 'application/json' }, 100 * 1024 * 1024);
    const err = await caught(client.getRecording('a'));
    expect(err.message).toMatch(/answer too large$/);
    await waitFor('the server to see the connection close', () => seen.closed, 10_000, 10);
    expect(seen.finished).toBe(false);
  });
});

describe('the 404 rule in the worker', () => {
  it('a close job with a wrong projectId is dead-lettered REJECTED instead of completed as already gone', async () => {
    const pipe = await startPipeline();
    const [wrong, right] = pipe.sim.createSessions(2);
    await pipe.producer.closeSessions([{ sessionId: wrong!, projectId: 'proj-typo' }, { sessionId: right!, projectId: 'sim-project' }]);
    const worker = await pipe.startWorker();
    await waitFor('one close and one dead letter', async () => {
      const [done, dead] = await Promise.all([pipe.producer.queues.closeQueue.getJobCounts('completed'), pipe.producer.queues.deadLetterQueue.getJobCounts('failed')]);
      return done.completed === 1 && dead.failed === 1;
    }, 20_000);
    const [letter] = await pipe.producer.queues.deadLetterQueue.getFailed();
    expect(letter?.data).toMatchObject({ sessionId: wrong, projectId: 'proj-typo', errorCode: 'REJECTED', httpStatus: 404, attemptsMade: 1 });
    expect(String(letter?.data.message)).toMatch(/is still RUNNING, but closing it with projectId "proj-typo" answered 404: the session is not in that project/);
    expect(pipe.sim.getSession(wrong!)?.status).toBe('RUNNING');
    await worker.close();
    await pipe.close();
  });
});
