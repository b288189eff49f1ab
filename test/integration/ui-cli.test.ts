import { describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli-process.js';
import { testRedisUrl, uniquePrefix } from '../helpers/context.js';
import { SIM_KEY, startPipeline } from '../helpers/pipeline.js';
import { send, UI_PASSWORD, UI_USER } from '../helpers/ui-fixture.js';

describe('bb-reaper ui', () => {
  it('prints its URL, serves with credentials from the environment, and stops on SIGTERM with exit 0', async () => {
    const p = spawnCli(['ui', '--port', '0', '--prefix', uniquePrefix('ui-cli')], {
      env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD, LOG_LEVEL: 'info' },
    });
    await p.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/ui\n/);
    const url = /(http:\/\/127\.0\.0\.1:\d+)\/ui/.exec(p.stdout())![1]!;
    expect((await send(`${url}/healthz`)).status).toBe(200);
    expect((await send(`${url}/api/stats`)).status).toBe(401);
    expect((await send(`${url}/api/stats`, { headers: { authorization: `Bearer ${UI_PASSWORD}` } })).status).toBe(200);
    expect(p.stderr()).not.toContain(UI_PASSWORD);
    p.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stderr()).toMatch(/shutting down gracefully/);
    expect(p.stderr()).toMatch(/ui stopped/);
    expect(p.stderr()).not.toContain(UI_PASSWORD);
    await p.close();
  });

  it('rejects a bad port with exit 2 naming the flag', async () => {
    const p = spawnCli(['ui', '--port', '70000'], { env: { REDIS_URL: testRedisUrl() } });
    const { code } = await p.exited;
    expect(code).toBe(2);
    expect(p.stderr()).toMatch(/--port \(uiPort\): expected an integer from 0 to 65535, got `70000`/);
    await p.close();
  });
});

describe('bb-reaper ui: weak secrets', () => {
  it('a 1-character UI password is no longer accepted for a public bind: exit 2 naming BB_REAPER_UI_PASSWORD, value masked', async () => {
    const p = spawnCli(['ui', '--host', '0.0.0.0', '--port', '0'], {
      env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: 'Z' },
    });
    const { code } = await p.exited;
    expect(code).toBe(2);
    expect(p.stderr()).toContain('BB_REAPER_UI_PASSWORD (uiPassword): expected at least 12 characters, got `***`');
    expect(p.stderr()).not.toMatch(/got `Z`|listening/);
    expect(p.stdout()).toBe('');
    await p.close();
  });

  it('`--metrics-token` is read from the flag, masked when too short', async () => {
    const p = spawnCli(['ui', '--port', '0', '--metrics-token', 'short-tok'], { env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD } });
    const { code } = await p.exited;
    expect(code).toBe(2);
    expect(p.stderr()).toContain('--metrics-token (metricsToken): expected at least 12 characters, got `***`');
    expect(p.stderr()).not.toContain('short-tok');
    await p.close();
  });
});

describe('bb-reaper ui: slots', () => {
  it('serves GET /api/slots when given an API key, and answers 503 naming the missing key without one', async () => {
    const p = await startPipeline({ sim: { concurrencyLimit: 7 } });
    p.sim.createSessions(2);
    const prefix = uniquePrefix('ui-cli-slots');
    const auth = { headers: { authorization: `Bearer ${UI_PASSWORD}` } };
    const withKey = spawnCli(['ui', '--port', '0', '--prefix', prefix], {
      env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url },
    });
    await withKey.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/ui\n/);
    const url = /(http:\/\/127\.0\.0\.1:\d+)\/ui/.exec(withKey.stdout())![1]!;
    const r = await send(`${url}/api/slots`, auth);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ project: { concurrency: 7 }, active: { running: 2, pending: 0 }, free: 5 });
    expect(r.body).not.toContain(SIM_KEY);
    withKey.kill('SIGTERM');
    expect((await withKey.exited).code).toBe(0);
    await withKey.close();

    const without = spawnCli(['ui', '--port', '0', '--prefix', prefix], { env: { REDIS_URL: testRedisUrl(), BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD } });
    await without.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/ui\n/);
    const url2 = /(http:\/\/127\.0\.0\.1:\d+)\/ui/.exec(without.stdout())![1]!;
    const none = await send(`${url2}/api/slots`, auth);
    expect(none.status).toBe(503);
    expect(none.body).toMatch(/BROWSERBASE_API_KEY/);
    without.kill('SIGTERM');
    expect((await without.exited).code).toBe(0);
    await without.close();
    await p.close();
  });
});
