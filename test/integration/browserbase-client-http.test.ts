import { describe, expect, it } from 'vitest';
import { caught, fakeSession, sendJson, useScriptedServers } from './browserbase-scripted-server.js';

const KEY = 'bb_live_unit-test-key-0123456789';

const { setup } = useScriptedServers(KEY);

describe('Browserbase client over HTTP: requests', () => {
  it('sends each action with the real verb, path, key header and body', async () => {
    const { server, client } = await setup((req, res) => {
      if (req.url === '/v1/sessions' && req.method === 'POST') return sendJson(res, 201, fakeSession('new', 'RUNNING', { connectUrl: 'wss://x' }));
      if (req.url?.startsWith('/v1/sessions?') || (req.url === '/v1/sessions' && req.method === 'GET')) return sendJson(res, 200, [fakeSession('a')]);
      if (req.url?.endsWith('/debug')) return sendJson(res, 200, { debuggerFullscreenUrl: 'f', debuggerUrl: 'd', wsUrl: 'w', pages: [] });
      if (req.url?.endsWith('/recording')) return sendJson(res, 200, [{ data: {}, sessionId: 'a', timestamp: 1, type: 4 }]);
      return sendJson(res, 200, fakeSession('a', req.method === 'POST' ? 'RUNNING' : 'COMPLETED'));
    }, { projectId: 'proj-1', userAgent: 'probe/1' });

    expect(await client.closeSession('a')).toEqual({ id: 'a', status: 'RUNNING', outcome: 'closed', httpStatus: 200, expiresAt: expect.any(String) }); // still running: it would have run until expiresAt
    expect((await client.getSession('a')).status).toBe('COMPLETED');
    expect(await client.listSessions({ status: 'RUNNING', q: "user_metadata['team']:'x y'" })).toHaveLength(1);
    expect((await client.createSession({ keepAlive: true })).connectUrl).toBe('wss://x');
    expect((await client.getDebugUrls('a')).wsUrl).toBe('w');
    expect(await client.getRecording('a')).toEqual([{ data: {}, sessionId: 'a', timestamp: 1, type: 4 }]);
    await client.listSessions();

    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /v1/sessions/a',
      'GET /v1/sessions/a',
      "GET /v1/sessions?status=RUNNING&q=user_metadata%5B%27team%27%5D%3A%27x+y%27",
      'POST /v1/sessions',
      'GET /v1/sessions/a/debug',
      'GET /v1/sessions/a/recording',
      'GET /v1/sessions',
    ]);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ status: 'REQUEST_RELEASE', projectId: 'proj-1' });
    expect(JSON.parse(server.requests[3]!.body)).toEqual({ keepAlive: true, projectId: 'proj-1' });
    for (const r of server.requests) {
      expect(r.headers['x-bb-api-key']).toBe(KEY);
      expect(r.headers['user-agent']).toBe('probe/1');
      expect(r.headers.authorization).toBeUndefined();
    }
  });

  it('sends projectId only when set', async () => {
    const { server, client } = await setup((req, res) => sendJson(res, req.url === '/v1/sessions' ? 201 : 200, fakeSession('a')));
    await client.closeSession('a');
    await client.createSession();
    await client.closeSession('a', { projectId: 'per-call' });
    expect(server.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ status: 'REQUEST_RELEASE' }, {}, { status: 'REQUEST_RELEASE', projectId: 'per-call' }]);
  });

  it('percent-encodes valid unicode ids into the path', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, fakeSession('x')));
    await client.getSession('séance-日本');
    await client.closeSession('id-😀');
    await client.getSession("a:b@c+d=e&f;g,h!i'j(k)l*m~n");
    expect(server.requests.map((r) => r.url)).toEqual([
      '/v1/sessions/s%C3%A9ance-%E6%97%A5%E6%9C%AC',
      '/v1/sessions/id-%F0%9F%98%80',
      "/v1/sessions/a%3Ab%40c%2Bd%3De%26f%3Bg%2Ch!i'j(k)l*m~n",
    ]);
  });

  it('keeps a base URL path prefix', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, fakeSession('a')), {}, '/proxy/');
    await client.getSession('a');
    expect(server.requests[0]!.url).toBe('/proxy/v1/sessions/a');
  });
});

describe('Browserbase client over HTTP: hostile ids never reach the server', () => {
  const hostile: unknown[] = ['../x', 'a/b', '%2e%2e', '..', '.', '', 'a'.repeat(10_240), 'a\u0000b', 'a\nb', 'a b', 'a\u2028b', 'a?x=1', 'a#f', 'a\\b', 42, null, undefined, {}, ['a']];

  it.each(hostile.map((id) => [JSON.stringify(id)?.slice(0, 20) ?? String(id), id]))('%s is INVALID_SESSION_ID before any request', async (_label, id) => {
    const { server, client } = await setup();
    const bad = id as string;
    const actions = [
      () => client.closeSession(bad),
      () => client.closeSession(bad, { verify: true }),
      () => client.getSession(bad),
      () => client.getDebugUrls(bad),
      () => client.getRecording(bad),
    ];
    for (const run of actions) {
      const err = await caught(run());
      expect(err.code).toBe('INVALID_SESSION_ID');
      expect(err.request).toBeUndefined();
    }
    expect(server.requests).toHaveLength(0);
    expect(server.connections()).toBe(0);
  });
});

describe('Browserbase client over HTTP: answers', () => {
  it('tolerates unknown fields and returns them', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 200, fakeSession('a', 'RUNNING', { brandNew: { x: 1 } })));
    const s = await client.getSession('a');
    expect(s).toMatchObject({ id: 'a', avgCpuUsage: 3, brandNew: { x: 1 } });
  });

  it.each([
    ['HTML', 'text/html', '<html>oops</html>', /malformed response: the body is empty or not JSON/],
    ['empty', 'application/json', '', /malformed response: the body is empty or not JSON/],
    ['no status', 'application/json', JSON.stringify({ id: 'a' }), /malformed response: `status`/],
    ['an array', 'application/json', '[]', /malformed response: the body/],
  ])('a 2xx with %s body is TRANSIENT "malformed"', async (_label, type, body, message) => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
    const err = await caught(client.getSession('a'));
    expect(err).toMatchObject({ code: 'TRANSIENT', statusCode: 200, request: { method: 'GET', path: '/v1/sessions/a' } });
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^Browserbase answered 200 to GET \/v1\/sessions\/a with a malformed response/);
  });

  it('checks list, debug and recording shapes too', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 200, { not: 'it' }));
    expect((await caught(client.listSessions())).code).toBe('TRANSIENT');
    expect((await caught(client.getDebugUrls('a'))).message).toMatch(/`debuggerFullscreenUrl`/);
    expect((await caught(client.getRecording('a'))).code).toBe('TRANSIENT');
  });

  it.each([
    [400, 'REJECTED', 'Bad Request'],
    [401, 'REJECTED', 'Unauthorized'],
    [403, 'REJECTED', 'Forbidden'],
    [422, 'REJECTED', 'Unprocessable Entity'],
    [404, 'NOT_FOUND', 'Not Found'],
    [408, 'TRANSIENT', 'Request Timeout'],
    [409, 'TRANSIENT', 'Conflict'],
    [500, 'TRANSIENT', 'Internal Server Error'],
    [502, 'TRANSIENT', 'Bad Gateway'],
    [503, 'TRANSIENT', 'Service Unavailable'],
    [429, 'RATE_LIMITED', 'Too Many Requests'],
  ])('%i -> %s with status, server message and request', async (status, code, reason) => {
    const { client } = await setup((_req, res) => sendJson(res, status, { statusCode: status, error: reason, message: 'Invalid API key' }));
    const err = await caught(client.getSession('abc'));
    expect(err).toMatchObject({ code, statusCode: status, serverMessage: 'Invalid API key', request: { method: 'GET', path: '/v1/sessions/abc' } });
    expect(err.message).toBe(`Browserbase answered ${status} ${reason} to GET /v1/sessions/abc: Invalid API key`);
  });

  it('says "(no message)" when the error body has none', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<h1>bad gateway</h1>');
    });
    const err = await caught(client.listSessions({ status: 'RUNNING' }));
    expect(err.message).toBe('Browserbase answered 502 Bad Gateway to GET /v1/sessions?status=RUNNING (no message)');
    expect(err.serverMessage).toBeUndefined();
  });

  const inFive = () => new Date(Date.now() + 5000).toUTCString();
  const epochIn10 = () => String(Math.floor(Date.now() / 1000) + 10);
  it.each([
    ['retry-after-ms', () => ({ 'retry-after-ms': '1500' }), [1500, 1500]],
    ['retry-after seconds', () => ({ 'retry-after': '3' }), [3000, 3000]],
    ['retry-after HTTP date', () => ({ 'retry-after': inFive() }), [1, 5000]],
    ['x-ratelimit-reset delta', () => ({ 'x-ratelimit-reset': '7', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0' }), [7000, 7000]],
    ['x-ratelimit-reset epoch', () => ({ 'x-ratelimit-reset': epochIn10() }), [1, 10_000]],
  ] as const)('429 with %s carries retryAfterMs', async (_label, headers, [min, max]) => {
    const { client } = await setup((_req, res) => sendJson(res, 429, { statusCode: 429, error: 'Too Many Requests', message: 'slow down' }, headers()));
    const err = await caught(client.closeSession('a'));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(min);
    expect(err.retryAfterMs).toBeLessThanOrEqual(max);
    expect(err.message).toMatch(/to POST \/v1\/sessions\/a: slow down \(retry after \d+ ms\)$/);
  });

  it('429 without any delay header has retryAfterMs undefined', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 429, { message: 'slow down' }));
    const err = await caught(client.closeSession('a'));
    expect(err).toMatchObject({ code: 'RATE_LIMITED', statusCode: 429 });
    expect(err.retryAfterMs).toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });
});
