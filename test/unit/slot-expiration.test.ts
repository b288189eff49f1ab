import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS } from '../../src/browserbase/index.js';
import { DEFAULT_VERIFY_TIMEOUT_MS } from '../../src/browserbase/close-session.js';
import { DEFAULT_SLOT_EXPIRATION_MS } from '../../src/worker/limiter.js';

describe('limiter slot expiry default', () => {
  it('outlives the longest close the default client can make (connect + headers + body + verify polls), so the concurrency cap holds', () => {
    const longestCloseMs = CLIENT_DEFAULTS.connectTimeoutMs + CLIENT_DEFAULTS.headersTimeoutMs + CLIENT_DEFAULTS.bodyTimeoutMs + DEFAULT_VERIFY_TIMEOUT_MS;
    expect(DEFAULT_SLOT_EXPIRATION_MS).toBeGreaterThan(longestCloseMs);
  });
});
