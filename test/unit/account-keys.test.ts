import { describe, expect, it } from 'vitest';
import { accountKeyPrefix, hashTagOf, keyPrefix, leaseKeys, limiterKeyBase } from '../../src/shared/names.js';

describe('account key scope (shared/names.ts)', () => {
  it('keeps every account under the deployment prefix on one Redis, the keys differing by name', () => {
    expect(accountKeyPrefix('bb-reaper', 'prod')).toBe('bb-reaper');
    expect(limiterKeyBase('bb-reaper')).toBe('bb-reaper:limiter');
    expect(limiterKeyBase('bb-reaper', 'prod')).toBe('bb-reaper:limiter@prod');
    expect(leaseKeys('bb-reaper').deadlines).toBe('bb-reaper:close:leases:deadlines');
    expect(leaseKeys('bb-reaper', 'prod').deadlines).toBe('bb-reaper:close@prod:leases:deadlines');
  });

  it('gives each account but default its own hash tag on a cluster, so accounts spread over shards', () => {
    const p = keyPrefix({ prefix: 'bb-reaper', redisCluster: true });
    expect(accountKeyPrefix(p, 'default')).toBe('{bb-reaper}');
    expect(accountKeyPrefix(p, 'prod')).toBe('{bb-reaper@prod}');
    expect(hashTagOf(limiterKeyBase(p, 'prod'))).toBe('bb-reaper@prod');
    expect(hashTagOf(leaseKeys(p, 'prod').lease('close@prod/x'))).toBe('bb-reaper@prod');
    expect(hashTagOf(leaseKeys(p, 'staging').counts)).not.toBe(hashTagOf(leaseKeys(p, 'prod').counts));
    expect(accountKeyPrefix('app{bb}x', 'prod')).toBe('app{bb@prod}x');
  });
});
