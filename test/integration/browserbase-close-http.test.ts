import { describe, expect, it } from 'vitest';
import { caught, fakeSession, notFoundBody, sendJson, useScriptedServers } from './browserbase-scripted-server.js';

const KEY = 'bb_live_close-test-key';
const { setup } = useScriptedServers(KEY);

/** A server whose close (POST) and follow-up GET answer as scripted. */
function closeThenGet(close: [number, unknown, Record<string, string>?], get: [number, unknown] | (() => [number, unknown])) {
  return setup((req, res) => {
    if (req.method === 'POST') return sendJson(res, close[0], close[1], close[2]);
    const [status, body] = typeof get === 'function' ? get() : get;
    return sendJson(res, status, body);
  });
}

describe('closeSession: the real API semantics', () => {
  it('200 -> closed, status from the body (still RUNNING: release is asynchronous)', async () => {
    const { server, client } = await closeThenGet([200, fakeSession('a', 'RUNNING')], [500, {}]);
    expect(await client.closeSession('a')).toEqual({ id: 'a', status: 'RUNNING', outcome: 'closed', httpStatus: 200, expiresAt: expect.any(String) });
    expect(server.requests).toHaveLength(1);
  });

  it('404 -> already_gone with status NOT_FOUND and no follow-up', async () => {
    const { server, client } = await closeThenGet([404, notFoundBody()], [500, {}]);
    expect(await client.closeSession('a')).toEqual({ id: 'a', status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 });
    expect(server.requests).toHaveLength(1);
  });

  it.each([409, 400, 403, 422])('%i, then GET shows COMPLETED -> already_gone with that status', async (status) => {
    const { server, client } = await closeThenGet([status, { message: 'Session already finished' }], [200, fakeSession('a', 'COMPLETED')]);
    expect(await client.closeSession('a')).toEqual({ id: 'a', status: 'COMPLETED', outcome: 'already_gone', httpStatus: status });
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
  });

  it('an unknown status on the follow-up GET is no longer taken as "ended": 409 then GET "STOPPING" -> the close error, not already_gone', async () => {
    const { client } = await closeThenGet([409, { statusCode: 409, error: 'Conflict', message: 'busy' }], [200, fakeSession('a', 'STOPPING')]);
    expect((await caught(client.closeSession('a'))).code).toBe('TRANSIENT');
  });

  it('400, then GET 404 -> already_gone', async () => {
    const { client } = await closeThenGet([400, {}], [404, notFoundBody()]);
    expect(await client.closeSession('a')).toMatchObject({ status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 400 });
  });

  it.each([
    [409, 'TRANSIENT'],
    [400, 'REJECTED'],
    [401, 'REJECTED'],
  ])("%i, then GET shows RUNNING -> the close's own error (%s)", async (status, code) => {
    const { client } = await closeThenGet([status, { message: 'nope' }], [200, fakeSession('a', 'RUNNING')]);
    const err = await caught(client.closeSession('a'));
    expect(err).toMatchObject({ code, statusCode: status, request: { method: 'POST', path: '/v1/sessions/a' } });
  });

  it('400, then GET is rate-limited -> the GET error (nothing is known yet, so retry)', async () => {
    const { client } = await closeThenGet([400, {}], [429, { message: 'slow down' }]);
    expect(await caught(client.closeSession('a'))).toMatchObject({ code: 'RATE_LIMITED', request: { method: 'GET' } });
  });

  it('400, then GET is rejected -> the close error', async () => {
    const { client } = await closeThenGet([400, { message: 'bad' }], [401, {}]);
    expect(await caught(client.closeSession('a'))).toMatchObject({ code: 'REJECTED', statusCode: 400, request: { method: 'POST' } });
  });

  it.each([429, 500, 503])('%i -> its error, with no follow-up GET', async (status) => {
    const { server, client } = await closeThenGet([status, {}, { 'retry-after': '1' }], [200, fakeSession('a', 'COMPLETED')]);
    const err = await caught(client.closeSession('a'));
    expect(err.statusCode).toBe(status);
    expect(server.requests).toHaveLength(1);
  });
});

describe('closeSession({ verify: true })', () => {
  it('polls GET until terminal -> verified, riding out transient answers', async () => {
    const answers: Array<[number, unknown]> = [
      [200, fakeSession('a', 'RUNNING')],
      [503, {}],
      [429, { message: 'slow' }],
      [200, fakeSession('a', 'COMPLETED', { endedAt: new Date().toISOString() })],
    ];
    const { server, client } = await closeThenGet([200, fakeSession('a', 'RUNNING')], () => answers.shift() ?? [500, {}]);
    expect(await client.closeSession('a', { verify: true })).toEqual({ id: 'a', status: 'COMPLETED', outcome: 'verified', httpStatus: 200, expiresAt: expect.any(String) });
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'GET', 'GET', 'GET']);
  });

  it('a close body that is already terminal is verified without polling', async () => {
    const { server, client } = await closeThenGet([200, fakeSession('a', 'COMPLETED')], [500, {}]);
    expect(await client.closeSession('a', { verify: true })).toMatchObject({ outcome: 'verified', status: 'COMPLETED' });
    expect(server.requests).toHaveLength(1);
  });

  it('a session that vanishes while polling is verified as NOT_FOUND', async () => {
    const { client } = await closeThenGet([200, fakeSession('a', 'RUNNING')], [404, notFoundBody()]);
    expect(await client.closeSession('a', { verify: true })).toMatchObject({ outcome: 'verified', status: 'NOT_FOUND' });
  });

  it('still active at the deadline -> TRANSIENT saying so', async () => {
    const { server, client } = await closeThenGet([200, fakeSession('a', 'RUNNING')], [200, fakeSession('a', 'RUNNING')]);
    const err = await caught(client.closeSession('a', { verify: true, verifyTimeoutMs: 400 }));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toBe('Session a was still RUNNING after 400 ms of verification (verifyTimeoutMs); the release was requested but not confirmed');
    expect(server.requests.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(1);
  });

  it('a GET that hangs past the deadline still ends in the timeout error', async () => {
    const { client } = await setup((req, res) => {
      if (req.method === 'POST') sendJson(res, 200, fakeSession('a', 'RUNNING'));
    });
    const err = await caught(client.closeSession('a', { verify: true, verifyTimeoutMs: 300 }));
    expect(err.code).toBe('TRANSIENT');
    expect(err.message).toMatch(/still RUNNING after 300 ms/);
  });

  it('a rejected GET stops polling with that error', async () => {
    const { client } = await closeThenGet([200, fakeSession('a', 'RUNNING')], [403, { message: 'forbidden' }]);
    expect(await caught(client.closeSession('a', { verify: true }))).toMatchObject({ code: 'REJECTED', statusCode: 403 });
  });

  it('the signal aborts polling -> ABORTED', async () => {
    const { server, client } = await closeThenGet([200, fakeSession('a', 'RUNNING')], [200, fakeSession('a', 'RUNNING')]);
    const ac = new AbortController();
    const p = client.closeSession('a', { verify: true, verifyTimeoutMs: 60_000, signal: ac.signal });
    const deadline = Date.now() + 10_000;
    while (server.requests.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    expect(await caught(p)).toMatchObject({ code: 'ABORTED' });
  });
});
