import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, createBrowserbaseClient, type BrowserbaseClientOptions } from '../../src/browserbase/index.js';
import { ConfigError } from '../../src/config/index.js';

function configError(options: unknown): ConfigError {
  try {
    createBrowserbaseClient(options as BrowserbaseClientOptions);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected createBrowserbaseClient to throw');
}

describe('createBrowserbaseClient options', () => {
  it('documents its defaults', () => {
    expect(CLIENT_DEFAULTS).toEqual({
      baseUrl: 'https://api.browserbase.com',
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      connections: 128,
      userAgent: 'bb-reaper/0.1.0',
    });
  });

  it('reports every bad option at once, naming field and value', () => {
    const err = configError({ apiKey: '', baseUrl: 'ftp://x', connections: 0, headersTimeoutMs: 1.5, projectId: '' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues.map((i) => i.field).sort()).toEqual(['apiKey', 'baseUrl', 'connections', 'headersTimeoutMs', 'projectId']);
    expect(err.message).toContain('createBrowserbaseClient options (baseUrl): expected an http:// or https:// URL, got `ftp://x`');
    expect(err.message).toContain('connections');
  });

  it('requires an API key and never prints it', () => {
    expect(configError({}).issues[0]).toMatchObject({ field: 'apiKey', value: 'undefined' });
    const err = configError({ apiKey: 'secret key with spaces' });
    expect(err.message).not.toContain('secret');
    expect(err.issues[0]).toMatchObject({ field: 'apiKey', value: '`***`' });
  });

  it('accepts minimal options and closes cleanly', async () => {
    const client = createBrowserbaseClient({ apiKey: 'k' });
    await client.close();
  });
});
