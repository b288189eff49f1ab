import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config/index.js';
import { createUiServer } from '../../src/ui/index.js';
import { runCli } from '../helpers/cli-process.js';
import { testRedisUrl, track, uniquePrefix } from '../helpers/context.js';
import { testLogger } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/wait.js';
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

const METRICS_TOKEN = 'prometheus-scrape-token-4c1d';

/** A UI with credentials and a metrics token; `loginThrottle` as the server takes it. */
async function startGuardedUi(loginThrottle?: Parameters<typeof createUiServer>[0]['loginThrottle']) {
  const config = resolveConfig({
    env: {
      REDIS_URL: testRedisUrl(),
      BB_REAPER_PREFIX: uniquePrefix('ui-guard'),
      BB_REAPER_UI_PORT: '0',
      BB_REAPER_UI_USER: UI_USER,
      BB_REAPER_UI_PASSWORD: UI_PASSWORD,
      BB_REAPER_METRICS_TOKEN: METRICS_TOKEN,
    },
  });
  const server = track(createUiServer({ config, logger: testLogger(), ...(loginThrottle ? { loginThrottle } : {}) }), 'ui server');
  return { server, url: await server.listen() };
}

/** `send`, from a chosen loopback source address: another client, as the server sees it. */
function sendFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ui server: failed logins', () => {
  it('failed UI logins are no longer unthrottled: the 6th bad attempt within a minute gets 429 with Retry-After, another client still gets in', async () => {
    const ui = await startGuardedUi();
    const attacker = '127.0.0.1';
    const operator = '127.0.0.2';
    const stats = `${ui.url}/api/stats`;
    // Requests without credentials (a browser asking for the challenge) are not failed logins.
    for (let i = 0; i < 8; i++) expect((await sendFrom(attacker, stats)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await sendFrom(attacker, stats, { authorization: basicAuth(UI_USER, `guess-${i}-xxxxxxxx`) })).status, `guess ${i}`).toBe(401);
    const sixth = await sendFrom(attacker, stats, { authorization: `Bearer guess-6-xxxxxxxx` });
    expect(sixth.status).toBe(429);
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // While refused, the right password from that address is not even checked (a guess cannot be confirmed).
    expect((await sendFrom(attacker, stats, { authorization: basicAuth() })).status).toBe(429);
    expect((await sendFrom(attacker, `${ui.url}/healthz`)).status).toBe(200);
    // Another client is unaffected, with Basic, Bearer and the metrics token.
    expect((await sendFrom(operator, stats, { authorization: basicAuth() })).status).toBe(200);
    expect((await sendFrom(operator, stats, { authorization: `Bearer ${UI_PASSWORD}` })).status).toBe(200);
    expect((await sendFrom(operator, `${ui.url}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
    await ui.server.close();
  });

  it('lets a throttled client back in once its window has passed, and a valid credential does not reset a guesser’s count', async () => {
    const ui = await startGuardedUi({ maxFailures: 2, windowMs: 1500 });
    const client = '127.0.0.3';
    const stats = `${ui.url}/api/stats`;
    expect((await sendFrom(client, stats, { authorization: 'Bearer wrong-one-xxxxxxx' })).status).toBe(401);
    // A success in between (the metrics token) leaves the count as it was.
    expect((await sendFrom(client, `${ui.url}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
    expect((await sendFrom(client, stats, { authorization: 'Bearer wrong-two-xxxxxxx' })).status).toBe(401);
    expect((await sendFrom(client, stats, { authorization: basicAuth() })).status).toBe(429);
    await waitFor('the window to pass', async () => (await sendFrom(client, stats, { authorization: basicAuth() })).status === 200, 10_000, 200);
    await ui.server.close();
  });
});

describe('ui server: metrics token', () => {
  it('a read-only metrics token scrapes GET /metrics, and cannot read /api or /ui nor write', async () => {
    const ui = await startGuardedUi();
    const token = { authorization: `Bearer ${METRICS_TOKEN}` };
    const metrics = await send(`${ui.url}/metrics`, { headers: token });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('bb_reaper_queue_jobs');
    expect((await send(`${ui.url}/metrics?name=x`, { headers: token })).status).toBe(200);
    expect((await send(`${ui.url}/metrics`, { method: 'HEAD', headers: token })).status).toBe(200);
    // The admin password still scrapes.
    expect((await send(`${ui.url}/metrics`, { headers: { authorization: `Bearer ${UI_PASSWORD}` } })).status).toBe(200);
    expect((await send(`${ui.url}/metrics`, { headers: { authorization: basicAuth() } })).status).toBe(200);
    const reads = ['/api/stats', '/api/dlq', '/readyz', '/ui', '/ui/api/queues', '/', '/metrics/', '/metrics/../api/stats'];
    for (const path of reads) {
      const r = await send(`${ui.url}${path}`, { headers: token });
      expect(r.status, path).toBe(403);
      expect(r.body, path).not.toContain('bb_reaper_');
    }
    const writes: Array<[string, string]> = [
      ['POST', '/api/dlq/purge'],
      ['POST', '/api/dlq/redrive'],
      ['POST', '/metrics'],
      ['PUT', '/ui/api/queues/dead-letter/retry/failed'],
      ['PUT', '/ui/api/queues/dead-letter/clean/failed'],
    ];
    for (const [method, path] of writes) {
      const r = await send(`${ui.url}${path}`, { method, headers: { ...token, 'x-requested-by': 'test', 'sec-fetch-site': 'same-origin' }, body: { all: true } });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
    // The token is not a password: not as Basic, not with the user.
    expect((await send(`${ui.url}/metrics`, { headers: { authorization: basicAuth(UI_USER, METRICS_TOKEN) } })).status).toBe(401);
    await ui.server.close();
  });
});

describe('ui server: weak secrets', () => {
  it('a 1-character UI password is no longer accepted: the configuration names BB_REAPER_UI_PASSWORD, masked', () => {
    const cases = [
      ['uiPassword', 'BB_REAPER_UI_PASSWORD', '1'],
      ['uiPassword', 'BB_REAPER_UI_PASSWORD', 'elevenchars'],
      ['metricsToken', 'BB_REAPER_METRICS_TOKEN', 'tok-secret'],
      ['metricsToken', 'BB_REAPER_METRICS_TOKEN', UI_PASSWORD],
    ] as const;
    for (const [field, name, value] of cases) {
      const env = { BB_REAPER_UI_HOST: '0.0.0.0', BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD, [name]: value };
      let error: ConfigError | undefined;
      try {
        resolveConfig({ env });
      } catch (err) {
        error = err as ConfigError;
      }
      expect(error, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect(error!.issues, `${name}=${value}`).toEqual([{ field, source: name, value: '`***`', message: expect.stringMatching(/at least 12 characters|different from BB_REAPER_UI_PASSWORD/) }]);
      expect(error!.message).toContain(`${name} (${field}): `);
      if (value.length > 1) expect(error!.message).not.toContain(value);
    }
  });

  it('a library caller’s hand-built config with a short password is refused too (UI_WEAK_SECRET)', () => {
    const config = { redisUrl: testRedisUrl(), prefix: uniquePrefix('ui'), uiHost: '0.0.0.0', uiPort: 0, uiUser: UI_USER, uiPassword: 'hunter2', metricsToken: undefined };
    let error: unknown;
    try {
      createUiServer({ config, logger: testLogger() });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'UI_WEAK_SECRET' });
    expect((error as Error).message).toContain('BB_REAPER_UI_PASSWORD');
    expect((error as Error).message).not.toContain('hunter2');
  });
});
