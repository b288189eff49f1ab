import { describe, expect, it } from 'vitest';
import { closeJobId, parseCloseJobId } from '../../src/shared/names.js';

describe('parseCloseJobId, the one inverse of closeJobId', () => {
  it('gives back the session id of any close job id', () => {
    for (const id of ['8a4f1c2e-0000-4000-8000-000000000001', 'a:b/c?d#e%f', 'ünï ✓', '']) expect(parseCloseJobId(closeJobId(id))).toBe(id);
  });

  it('is undefined for an id that is not a close job id, never throwing', () => {
    expect(parseCloseJobId('repeat:orphan-sweep-default:1')).toBeUndefined();
    expect(parseCloseJobId('close-%E0%A4%A')).toBeUndefined();
    expect(parseCloseJobId(42 as unknown as string)).toBeUndefined();
  });
});
