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

describe('logger on a terminal', () => {
  it('a session id with ESC/OSC 52 no longer reaches the terminal raw through pino-pretty', async () => {
    const { openSync, closeSync } = await import('node:fs');
    const { createLogger } = await import('../../src/shared/logger.js');
    const { waitFor } = await import('../helpers/wait.js');
    const dir = mkdtempSync(join(tmpdir(), 'bbr-log-'));
    const file = join(dir, 'pretty.log');
    const fd = openSync(file, 'w');
    try {
      const log = createLogger({ pretty: true, destination: fd });
      log.warn({ sessionId: 'abc\u001b]52;c;aGk=\u0007', nested: { message: 'x\u001b[31mred\u009b' } }, 'close failed');
      await waitFor('the pretty line', () => readFileSync(file, 'utf8').includes('close failed'), 20_000);
      const text = readFileSync(file, 'utf8');
      // pino-pretty's own colours are ESC sequences too: look only at what the values became.
      expect(text).toContain('abc\\x1b]52;c;aGk=\\x07');
      expect(text).toContain('x\\x1b[31mred\\x9b');
      expect(text).not.toContain('\u0007');
      expect(text).not.toContain('\u009b');
      expect(text).not.toContain(']52;c;aGk=\u0007');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
