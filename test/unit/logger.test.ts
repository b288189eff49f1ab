import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../../src/shared/logger.js';

describe('logger redaction', () => {
  it('replaces API keys and passwords wherever the configured paths put them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bbr-log-'));
    const file = join(dir, 'log.jsonl');
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination({ dest: file, sync: true }));
    log.info({ apiKey: 'k-secret-1', config: { apiKey: 'k-secret-2', uiPassword: 'p-secret-3' }, headers: { 'x-bb-api-key': 'k-secret-4' } }, 'hello');
    log.info({ req: { headers: { authorization: 'Basic c2VjcmV0', 'x-bb-api-key': 'k-secret-5' } } }, 'request');
    const text = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    expect(text).not.toMatch(/secret|c2VjcmV0/);
    expect(text.match(/\[redacted\]/g)).toHaveLength(6);
  });
});
