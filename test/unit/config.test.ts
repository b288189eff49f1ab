import { describe, expect, it } from 'vitest';
import { ConfigError, PLAN_PRESETS, resolveConfig } from '../../src/config/index.js';

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const c = resolveConfig({ env: {} });
    expect(c).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      baseUrl: 'https://api.browserbase.com',
      prefix: 'bb-reaper',
      plan: 'developer',
      rate: PLAN_PRESETS.developer.rate,
      concurrency: PLAN_PRESETS.developer.concurrency,
      attempts: 5,
      backoffMs: 1000,
      uiPort: 3000,
      uiHost: '127.0.0.1',
      logLevel: 'info',
    });
    expect(c.apiKey).toBeUndefined();
  });

  it('applies flag > env > default', () => {
    const env = { BB_REAPER_RATE: '7', BB_REAPER_ATTEMPTS: '3', BB_REAPER_PLAN: 'free' };
    const c = resolveConfig({ env, flags: { rate: '9' } });
    expect(c.rate).toBe(9);
    expect(c.attempts).toBe(3);
    expect(c.concurrency).toBe(PLAN_PRESETS.free.concurrency);
  });

  it('fills rate and concurrency from the plan preset', () => {
    const c = resolveConfig({ env: { BB_REAPER_PLAN: 'scale' } });
    expect(c.rate).toBe(PLAN_PRESETS.scale.rate);
    expect(c.concurrency).toBe(PLAN_PRESETS.scale.concurrency);
  });

  it('reports every bad field at once, naming the source and the value', () => {
    const issues = issuesOf(() =>
      resolveConfig({
        env: { BB_REAPER_RATE: '0', BB_REAPER_PLAN: 'gold', REDIS_URL: 'http://x', BB_REAPER_ATTEMPTS: 'five' },
        flags: { concurrency: '-1' },
      }),
    );
    const byField = Object.fromEntries(issues.map((i) => [i.field, i]));
    expect(Object.keys(byField).sort()).toEqual(['attempts', 'concurrency', 'plan', 'rate', 'redisUrl']);
    expect(byField.rate).toMatchObject({ source: 'BB_REAPER_RATE', value: '`0`' });
    expect(byField.rate?.message).toMatch(/integer from 1/);
    expect(byField.concurrency).toMatchObject({ source: '--concurrency', value: '`-1`' });
    expect(byField.plan?.message).toMatch(/free, developer, startup, scale/);
    expect(byField.attempts?.value).toBe('`five`');
  });

  it('never shows a secret in an error', () => {
    let message = '';
    try {
      resolveConfig({
        env: { BROWSERBASE_API_KEY: '', BB_REAPER_UI_PASSWORD: 'hunter2-secret', REDIS_URL: 'redis://:p4ss-secret@h:1/x y' },
        require: ['apiKey'],
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/BROWSERBASE_API_KEY/);
    expect(message).toMatch(/BB_REAPER_UI_USER and BB_REAPER_UI_PASSWORD must be set together/);
    expect(message).not.toMatch(/hunter2|p4ss/);
  });

  it('requires settings a command needs', () => {
    const issues = issuesOf(() => resolveConfig({ env: {}, require: ['apiKey'] }));
    expect(issues).toEqual([
      { field: 'apiKey', source: 'BROWSERBASE_API_KEY', value: 'nothing', message: 'required by this command' },
    ]);
    expect(resolveConfig({ env: { BROWSERBASE_API_KEY: 'k' }, require: ['apiKey'] }).apiKey).toBe('k');
  });

  it('a UI password shorter than 12 characters is no longer accepted, and is reported masked', () => {
    const issues = issuesOf(() => resolveConfig({ env: { BB_REAPER_UI_USER: 'ops', BB_REAPER_UI_PASSWORD: 'p' } }));
    expect(issues).toEqual([{ field: 'uiPassword', source: 'BB_REAPER_UI_PASSWORD', value: '`***`', message: 'expected at least 12 characters' }]);
    const flagged = issuesOf(() => resolveConfig({ env: { BB_REAPER_UI_USER: 'ops' }, flags: { uiPassword: 'short-pw-11' } }));
    expect(flagged).toEqual([{ field: 'uiPassword', source: '--password', value: '`***`', message: 'expected at least 12 characters' }]);
    expect(resolveConfig({ env: { BB_REAPER_UI_USER: 'ops', BB_REAPER_UI_PASSWORD: 'twelve-chars' } }).uiPassword).toBe('twelve-chars');
  });

  it('reads the metrics token (flag > env), unset by default, a secret never shown, never the password itself', () => {
    expect(resolveConfig({ env: {} }).metricsToken).toBeUndefined();
    expect(resolveConfig({ env: { BB_REAPER_METRICS_TOKEN: 'scrape-token-from-env' }, flags: { metricsToken: 'scrape-token-from-flag' } }).metricsToken).toBe('scrape-token-from-flag');
    let message = '';
    try {
      resolveConfig({ env: { BB_REAPER_METRICS_TOKEN: 'tiny-tok', BB_REAPER_RATE: '0' } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('BB_REAPER_METRICS_TOKEN (metricsToken): expected at least 12 characters, got `***`');
    expect(message).not.toContain('tiny-tok');
    const same = issuesOf(() => resolveConfig({ env: { BB_REAPER_UI_USER: 'ops', BB_REAPER_UI_PASSWORD: 'one-secret-for-all', BB_REAPER_METRICS_TOKEN: 'one-secret-for-all' } }));
    expect(same).toEqual([{ field: 'metricsToken', source: 'BB_REAPER_METRICS_TOKEN', value: '`***`', message: expect.stringContaining('different from BB_REAPER_UI_PASSWORD') }]);
  });

  it('does not read process.env implicitly', () => {
    process.env.BB_REAPER_RATE = '77';
    try {
      expect(resolveConfig({}).rate).toBe(PLAN_PRESETS.developer.rate);
    } finally {
      delete process.env.BB_REAPER_RATE;
    }
  });
});
