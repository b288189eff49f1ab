import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';

describe('bad configuration at start-up', () => {
  it('is reported once, listing every bad field with its value (secrets masked), exit 2', async () => {
    const r = await runCli(['worker', '--concurrency', '0'], {
      env: {
        BB_REAPER_RATE: 'fast',
        BB_REAPER_PLAN: 'gold',
        REDIS_URL: 'redis://:hunter2@127.0.0.1:1',
        BB_REAPER_UI_PASSWORD: 'pa55-secret',
        BB_REAPER_ATTEMPTS: '0',
      },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.match(/Invalid configuration/g)).toHaveLength(1);
    for (const field of ['BROWSERBASE_API_KEY', 'BB_REAPER_RATE (rate)', '--concurrency (concurrency)', 'BB_REAPER_PLAN (plan)', 'BB_REAPER_ATTEMPTS (attempts)', 'BB_REAPER_UI_USER']) {
      expect(r.stderr).toContain(field);
    }
    expect(r.stderr).toContain('`fast`');
    expect(r.stderr).not.toMatch(/hunter2|pa55-secret/);
    expect(r.stdout).toBe('');
  });

  it('a Redis password containing `/` is no longer shown in clear in a config error', async () => {
    const urls = ['redis://:pa/ss@127.0.0.1:1', 'redis://:pa/ss@host', 'redis://ops:s3cr3t/x?y#z@host:6379/0'];
    const results = await Promise.all(urls.map((url) => runCli(['dlq', 'list'], { env: { REDIS_URL: url } })));
    results.forEach((r, i) => {
      expect({ url: urls[i], code: r.code }).toEqual({ url: urls[i], code: 2 });
      expect(r.stderr).toMatch(/REDIS_URL \(redisUrl\): .*got `redis:\/\/\*\*\*@/);
      expect(r.stderr).not.toMatch(/pa\/ss|s3cr3t|\/x\?y/);
    });
  });
});
