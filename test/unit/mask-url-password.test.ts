import { describe, expect, it } from 'vitest';
import { maskUrlPassword, resolveConfig } from '../../src/config/index.js';

describe('maskUrlPassword', () => {
  it.each([
    ['redis://user:hunter2@h:1', 'redis://user:***@h:1'],
    ['redis://:p%2Fx@h/2', 'redis://:***@h/2'],
    ['rediss://h:6380', 'rediss://h:6380'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ])('masks only the password of a URL that parses: %s', (url, masked) => {
    expect(maskUrlPassword(url)).toBe(masked);
  });

  it.each([
    // Not a URL at all: the `/` ends the authority before the `@`.
    ['redis://:pa/ss@host', 'redis://***@host', 'pa/ss'],
    ['redis://:pa?ss@h:1', 'redis://***@h:1', 'pa?ss'],
    ['redis://:pa#ss@h', 'redis://***@h', 'pa#ss'],
    // Parses, but as host `a` with path `/ss@host...`: the password is everything up to the last `@`.
    ['redis://:p@a/ss@host:6379/0', 'redis://***@host:6379/0', 'a/ss'],
    ['redis:pw@host', 'redis:***@host', 'pw'],
  ])('a password containing `/`, `?`, `#` or `@` is no longer shown in clear: %s', (url, masked, secret) => {
    expect(maskUrlPassword(url)).toBe(masked);
    expect(maskUrlPassword(url)).not.toContain(secret);
  });

  it('a config error for REDIS_URL=redis://:pa/ss@host no longer shows the password', () => {
    let message = '';
    try {
      resolveConfig({ env: { REDIS_URL: 'redis://:pa/ss@host' } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('REDIS_URL (redisUrl)');
    expect(message).toContain('`redis://***@host`');
    expect(message).not.toContain('pa/ss');
  });
});
