import { describe, expect, it } from 'vitest';
import { BROWSERBASE_ERROR_CODES } from '../../src/browserbase/index.js';
import { ERROR_CODES, isErrorCode } from '../../src/shared/errors.js';

describe('the error code registry', () => {
  it('holds every Browserbase client code', () => {
    for (const code of BROWSERBASE_ERROR_CODES) expect(isErrorCode(code), code).toBe(true);
  });

  it('says what each code means, in one line, and codes are SCREAMING_SNAKE_CASE', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(meaning.length, code).toBeGreaterThan(10);
      expect(meaning, code).not.toContain('\n');
    }
  });

  it('knows no code that is not listed, nor inherited names', () => {
    expect(isErrorCode('NOT_A_CODE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
