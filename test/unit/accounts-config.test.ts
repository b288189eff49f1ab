import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bb-reaper-accounts-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const configError = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('accounts: without a file', () => {
  it('BROWSERBASE_API_KEY and its neighbours form the one account `default`, as before', () => {
    const c = resolveConfig({ env: { BROWSERBASE_API_KEY: 'bb_live_secret', BROWSERBASE_PROJECT_ID: 'p1', BB_REAPER_PLAN: 'free' }, require: ['apiKey'] });
    expect(c.accounts.map((a) => a.name)).toEqual(['default']);
    const [a] = c.accounts;
    expect(a).toMatchObject({ name: 'default', projectId: 'p1', plan: 'free', rate: 5, concurrency: 3, attempts: 5, keySource: 'BROWSERBASE_API_KEY' });
    expect(a?.apiKey).toBe('bb_live_secret');
  });

  it('the key is not enumerable: JSON, spread and inspect of an account never show it', () => {
    const c = resolveConfig({ env: { BROWSERBASE_API_KEY: 'bb_live_secret' } });
    const a = c.accounts[0];
    expect(JSON.stringify(c.accounts)).not.toContain('bb_live_secret');
    expect(JSON.stringify({ ...a })).not.toContain('bb_live_secret');
    expect(inspect(c.accounts, { depth: 5 })).not.toContain('bb_live_secret');
  });
});

describe('accounts: the file', () => {
  const env = { BB_KEY_PROD: 'key-prod-123', BB_KEY_STAGING: 'key-staging-456' };

  it('reads JSON: each account its own key, project, limits; plan presets and global defaults fill the rest', () => {
    const p = file('a.json', JSON.stringify({ accounts: { prod: { apiKeyEnv: 'BB_KEY_PROD', rate: 25, projectId: 'proj-prod' }, staging: { apiKeyEnv: 'BB_KEY_STAGING', plan: 'free' } } }));
    const c = resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p, BB_REAPER_ATTEMPTS: '7' }, require: ['apiKey'] });
    expect(c.accounts.map((a) => [a.name, a.apiKey, a.rate, a.concurrency, a.attempts, a.projectId, a.keySource])).toEqual([
      ['prod', 'key-prod-123', 25, 25, 7, 'proj-prod', 'BB_KEY_PROD'],
      ['staging', 'key-staging-456', 5, 3, 7, undefined, 'BB_KEY_STAGING'],
    ]);
  });

  it('reads the same from YAML, and a key from a file (a Docker secret) with its newline trimmed', () => {
    const secret = file('prod.secret', 'key-from-file\n');
    const p = file('a.yaml', `accounts:\n  prod:\n    apiKeyFile: ${secret}\n    rate: 10\n    concurrency: 4\n  staging:\n    apiKeyEnv: BB_KEY_STAGING\n`);
    const c = resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p }, require: ['apiKey'] });
    expect(c.accounts.map((a) => [a.name, a.apiKey, a.rate, a.concurrency])).toEqual([
      ['prod', 'key-from-file', 10, 4],
      ['staging', 'key-staging-456', 25, 25],
    ]);
    expect(c.accounts[0]?.keySource).toBe(`file ${secret}`);
  });

  it('the flag --accounts wins over BB_REAPER_ACCOUNTS', () => {
    const p = file('flag.json', JSON.stringify({ accounts: { flagged: { apiKeyEnv: 'BB_KEY_PROD' } } }));
    const c = resolveConfig({ flags: { accountsFile: p }, env: { ...env, BB_REAPER_ACCOUNTS: join(dir, 'missing.json') } });
    expect(c.accounts.map((a) => a.name)).toEqual(['flagged']);
  });

  it('a file without `default` keeps the `default` that BROWSERBASE_API_KEY forms', () => {
    const p = file('no-default.json', JSON.stringify({ accounts: { prod: { apiKeyEnv: 'BB_KEY_PROD' } } }));
    const c = resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p, BROWSERBASE_API_KEY: 'env-key' }, require: ['apiKey'] });
    expect(c.accounts.map((a) => [a.name, a.apiKey])).toEqual([
      ['default', 'env-key'],
      ['prod', 'key-prod-123'],
    ]);
  });

  it('every bad field of every account is reported at once, naming the account and field, with no key in the message', () => {
    const p = file(
      'bad.json',
      JSON.stringify({
        version: 2,
        accounts: {
          Prod: { apiKeyEnv: 'BB_KEY_PROD' },
          inline: { apiKey: 'bb_live_INLINE_SECRET', rate: 5 },
          both: { apiKeyEnv: 'BB_KEY_PROD', apiKeyFile: '/run/secrets/x' },
          neither: { rate: 3 },
          limits: { apiKeyEnv: 'BB_KEY_PROD', rate: 0, concurrency: 'many', attempts: 1000, plan: 'gold', baseUrl: 'ftp://x' },
          typo: { apiKeyEnv: 'BB_KEY_PROD', rtae: 5 },
          unset: { apiKeyEnv: 'BB_KEY_NOT_SET' },
          nofile: { apiKeyFile: join(dir, 'no-such-secret') },
          scalar: 'BB_KEY_PROD',
        },
      }),
    );
    const err = configError(() => resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p }, require: ['apiKey'] }));
    const fields = err.issues.map((i) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'version',
        'accounts.Prod',
        'accounts.inline.apiKey',
        'accounts.both.apiKeyEnv',
        'accounts.neither.apiKeyEnv',
        'accounts.limits.rate',
        'accounts.limits.concurrency',
        'accounts.limits.attempts',
        'accounts.limits.plan',
        'accounts.limits.baseUrl',
        'accounts.typo.rtae',
        'accounts.unset.apiKeyEnv',
        'accounts.nofile.apiKeyFile',
        'accounts.scalar',
      ]),
    );
    expect(err.message).toContain(`BB_REAPER_ACCOUNTS (${p})`);
    expect(err.message).toMatch(/accounts\.unset\.apiKeyEnv\): the environment variable BB_KEY_NOT_SET is not set/);
    expect(err.message).toMatch(/accounts\.inline\.apiKey\): an API key is never written in the accounts file/);
    expect(err.message).not.toContain('INLINE_SECRET');
    expect(err.message).not.toContain('key-prod-123');
  });

  it('keys are checked only where the command needs them: only the named accounts with keysFor, none without apiKey required', () => {
    const p = file('partial.json', JSON.stringify({ accounts: { prod: { apiKeyEnv: 'BB_KEY_PROD' }, other: { apiKeyEnv: 'BB_KEY_NOT_SET' } } }));
    expect(resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p }, require: ['apiKey'], keysFor: ['prod'] }).accounts.map((a) => a.name)).toEqual(['prod', 'other']);
    expect(resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p } }).accounts.find((a) => a.name === 'other')?.apiKey).toBeUndefined();
    const err = configError(() => resolveConfig({ env: { ...env, BB_REAPER_ACCOUNTS: p }, require: ['apiKey'], keysFor: ['nope'] }));
    expect(err.message).toMatch(/\(account\): no such account; configured: prod, other, got `nope`/);
  });

  it('a file that cannot be read or parsed says which and where', () => {
    expect(configError(() => resolveConfig({ env: { BB_REAPER_ACCOUNTS: join(dir, 'absent.yaml') } })).message).toMatch(/cannot read the accounts file \(ENOENT\)/);
    const yaml = file('broken.yaml', 'accounts:\n  prod: {apiKeyEnv: X\n');
    expect(configError(() => resolveConfig({ env: { BB_REAPER_ACCOUNTS: yaml } })).message).toMatch(/not valid YAML: .*line/);
    const json = file('broken.json', '{"accounts": ');
    expect(configError(() => resolveConfig({ env: { BB_REAPER_ACCOUNTS: json } })).message).toMatch(/not valid JSON/);
    const empty = file('empty.json', '{"accounts": {}}');
    expect(configError(() => resolveConfig({ env: { BB_REAPER_ACCOUNTS: empty } })).message).toMatch(/expected at least one account/);
    const list = file('list.yaml', '- prod\n- staging\n');
    expect(configError(() => resolveConfig({ env: { BB_REAPER_ACCOUNTS: list } })).message).toMatch(/expected an object with an `accounts` map/);
  });
});

describe('accounts: naming one that is not configured', () => {
  it('without a file, any account but `default` is unknown, and the message says there is no file', () => {
    const err = configError(() => resolveConfig({ env: { BROWSERBASE_API_KEY: 'k' }, require: ['apiKey'], keysFor: ['prod'] }));
    expect(err.message).toMatch(/accounts \(no BB_REAPER_ACCOUNTS file\) \(account\): no such account; configured: default, got `prod`/);
  });
});
