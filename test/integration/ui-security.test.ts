import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import { createUiServer } from '../../src/ui/index.js';
import { runCli } from '../helpers/cli-process.js';
import { testRedisUrl, track, uniquePrefix } from '../helpers/context.js';
import { testLogger } from '../helpers/pipeline.js';
import { basicAuth, send, startUi, UI_PASSWORD, UI_USER } from '../helpers/ui-fixture.js';

/** Every kind of route the server has: its own, the ops API, Bull Board's page, assets and API. */
const PROTECTED = ['/readyz', '/metrics', '/api/stats', '/api/dlq', '/ui', '/ui/api/queues', '/'];

describe('ui server: authentication', () => {
  it('answers 401 with a Basic challenge to every route but /healthz without credentials', async () => {
    const ui = await startUi({ credentials: true });
    for (const path of PROTECTED) {
      const r = await send(`${ui.url}${path}`);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate'], path).toMatch(/^Basic realm="bb-reaper"/);
    }
    const writes = await send(`${ui.url}/api/dlq/purge`, { method: 'POST', headers: { 'x-requested-by': 'test' } });
    expect(writes.status).toBe(401);
    expect((await send(`${ui.url}/healthz`)).status).toBe(200);
    await ui.server.close();
  });

  it('refuses a wrong user, a wrong password and a wrong bearer token; accepts Basic and Bearer', async () => {
    const ui = await startUi({ credentials: true });
    const status = async (authorization: string) => (await send(`${ui.url}/api/stats`, { headers: { authorization } })).status;
    expect(await status(basicAuth('intruder', UI_PASSWORD))).toBe(401);
    expect(await status(basicAuth(UI_USER, `${UI_PASSWORD}x`))).toBe(401);
    expect(await status(basicAuth(UI_USER, ''))).toBe(401);
    expect(await status(`Bearer ${UI_PASSWORD.slice(0, -1)}`)).toBe(401);
    expect(await status('Digest whatever')).toBe(401);
    expect(await status(basicAuth())).toBe(200);
    expect(await status(`Bearer ${UI_PASSWORD}`)).toBe(200);
    // Bull Board's page and its static assets load with the credentials.
    const page = await send(`${ui.url}/ui`, { headers: { authorization: basicAuth() } });
    expect(page.status).toBe(200);
    const script = /src="([^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    expect((await send(new URL(script!, `${ui.url}/ui/`).toString())).status).toBe(401);
    expect((await send(new URL(script!, `${ui.url}/ui/`).toString(), { headers: { authorization: basicAuth() } })).status).toBe(200);
    await ui.server.close();
  });
});

describe('ui server: cross-site requests', () => {
  it('refuses state-changing requests from another site with 403, including Bull Board’s own API', async () => {
    const ui = await startUi({ credentials: true });
    const host = new URL(ui.url).host;
    const auth = { authorization: basicAuth() };
    const attempts: Array<[string, string, Record<string, string>]> = [
      ['POST', '/api/dlq/purge', { origin: 'https://evil.example' }],
      ['POST', '/api/dlq/purge', { 'sec-fetch-site': 'cross-site' }],
      ['POST', '/api/dlq/purge', { 'sec-fetch-site': 'same-site', origin: `http://${host}` }],
      ['POST', '/api/dlq/purge', { origin: 'null' }],
      ['POST', '/api/dlq/purge', {}],
      ['POST', '/api/dlq/redrive', { origin: `http://evil.example:${new URL(ui.url).port}` }],
      ['PUT', '/ui/api/queues/dead-letter/retry/failed', { origin: 'https://evil.example' }],
      ['PUT', '/ui/api/queues/dead-letter/clean/failed', { 'sec-fetch-site': 'cross-site' }],
      ['PUT', '/ui/api/queues/pause', {}],
    ];
    for (const [method, path, headers] of attempts) {
      const r = await send(`${ui.url}${path}`, { method, headers: { ...auth, ...headers } });
      expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
      expect(r.json<{ error: string }>().error).toBe('CROSS_SITE_REQUEST');
    }
    // The same writes from the UI's own origin, or from a script that says so, go through.
    expect((await send(`${ui.url}/api/dlq/purge`, { method: 'POST', headers: { ...auth, 'sec-fetch-site': 'same-origin', origin: ui.url } })).status).toBe(200);
    expect((await send(`${ui.url}/api/dlq/purge`, { method: 'POST', headers: { ...auth, origin: `http://${host}` } })).status).toBe(200);
    expect((await send(`${ui.url}/api/dlq/purge`, { method: 'POST', headers: { ...auth, 'x-requested-by': 'cli' } })).status).toBe(200);
    expect((await send(`${ui.url}/ui/api/queues/dead-letter/retry/failed`, { method: 'PUT', headers: { ...auth, 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
    // Reads need no such header.
    expect((await send(`${ui.url}/api/dlq`, { headers: { ...auth, 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    await ui.server.close();
  });

  it('without credentials, answers only loopback Host names (DNS rebinding)', async () => {
    const ui = await startUi();
    const port = new URL(ui.url).port;
    expect((await send(`${ui.url}/api/stats`)).status).toBe(200);
    expect((await send(`${ui.url}/api/stats`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    const rebound = await send(`${ui.url}/api/stats`, { headers: { host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('attacker.example');
    const write = await send(`${ui.url}/api/dlq/purge`, { method: 'POST', headers: { host: `attacker.example:${port}`, origin: `http://attacker.example:${port}` } });
    expect(write.status).toBe(403);
    await ui.server.close();
  });

  it('forbids framing and sniffing on every answer', async () => {
    const ui = await startUi();
    for (const path of ['/ui', '/healthz', '/metrics']) {
      const r = await send(`${ui.url}${path}`);
      expect(r.headers['x-frame-options'], path).toBe('DENY');
      expect(r.headers['content-security-policy'], path).toContain("frame-ancestors 'none'");
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
    }
    await ui.server.close();
  });
});

describe('ui server: bind address', () => {
  it('refuses to bind beyond loopback without credentials, naming the host and the fix', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'ops.example.com']) {
      const config = resolveConfig({ env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_HOST: host } });
      let error: unknown;
      try {
        createUiServer({ config, logger: testLogger() });
      } catch (err) {
        error = err;
      }
      expect(error, host).toMatchObject({ code: 'UI_UNSAFE_BIND' });
      expect((error as Error).message).toContain(`\`${host}\``);
      expect((error as Error).message).toContain('BB_REAPER_UI_PASSWORD');
    }
  });

  it('binds to every interface when credentials are set, and to loopback by default', async () => {
    const wide = await startUi({ credentials: true, host: '0.0.0.0' });
    expect((await send(`http://127.0.0.1:${new URL(wide.url).port}/healthz`)).status).toBe(200);
    await wide.server.close();
    const config = resolveConfig({ env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_PORT: '0', BB_REAPER_PREFIX: uniquePrefix('ui') } });
    expect(config.uiHost).toBe('127.0.0.1');
    const local = track(createUiServer({ config, logger: testLogger() }), 'ui server');
    expect(await local.listen()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await local.close();
  });

  it('`bb-reaper ui --host 0.0.0.0` without credentials exits 2 with a clear message', async () => {
    const r = await runCli(['ui', '--host', '0.0.0.0', '--port', '0', '--redis-url', testRedisUrl()], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Refusing to bind the UI to `0\.0\.0\.0`.*BB_REAPER_UI_USER/);
  });
});
