import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDuration } from '../../src/shared/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1h0m5s', 3_605_000],
    ['1s500ms', 1_500],
  ])('reads %s as %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['10', 'a bare number'],
    ['m', 'a bare unit'],
    ['10 m', 'a space'],
    [' 10m', 'a leading space'],
    ['-5m', 'a sign'],
    ['+5m', 'a plus sign'],
    ['1.5h', 'a decimal'],
    ['10min', 'an unknown unit'],
    ['10M', 'an upper-case unit'],
    ['5m1h', 'units out of order'],
    ['5m5m', 'a repeated unit'],
    ['10mx', 'trailing garbage'],
    ['0x10s', 'hex'],
  ])('rejects %j (%s) naming the field and the value', (input) => {
    expect(() => parseDuration(input, '--older-than')).toThrowError(DurationError);
    expect(() => parseDuration(input, '--older-than')).toThrowError(`\`--older-than\``);
    expect(() => parseDuration(input, '--older-than')).toThrowError(`got \`${input}\``);
  });

  it('enforces the bounds it is given, inclusively', () => {
    expect(() => parseDuration('0s')).toThrowError(/at least 1ms/);
    expect(parseDuration('10s', 'x', { minMs: 10_000 })).toBe(10_000);
    expect(() => parseDuration('9s', 'x', { minMs: 10_000 })).toThrowError(/at least 10s, got `9s`/);
    expect(() => parseDuration('366d')).toThrowError(/at most 365d/);
    expect(() => parseDuration('99999999999999999999d')).toThrowError(DurationError);
  });

  it('has a stable error code', () => {
    try {
      parseDuration('soon');
      expect.unreachable();
    } catch (err) {
      expect((err as DurationError).code).toBe('INVALID_DURATION');
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [86_400_000 + 1000, '1d1s'],
  ])('formats %i as %s and reads back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    if (ms > 0) expect(parseDuration(text)).toBe(ms);
  });
});
