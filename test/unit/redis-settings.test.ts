import { describe, expect, it } from 'vitest';
import { ConfigError, maskRedisUrls, resolveConfig, type ConfigIssue } from '../../src/config/index.js';
import { BbReaperError } from '../../src/shared/errors.js';
import { hashTagOf, keyPrefix, keys } from '../../src/shared/names.js';
import { permanentRedisFault, splitRedisUrls } from '../../src/shared/redis.js';

function issuesOf(env: Record<string, string>, opts: { flags?: Record<string, string>; checkFile?: (p: string) => string | undefined } = {}): ConfigIssue[] {
  try {
    resolveConfig({ env, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('Redis settings in the one schema', () => {
  it('defaults to one server, no cluster, no TLS files', () => {
    const c = resolveConfig({ env: {} });
    expect(c).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', redisCluster: false });
    expect([c.redisCa, c.redisCert, c.redisKey]).toEqual([undefined, undefined, undefined]);
  });

  it('reads BB_REAPER_REDIS_CLUSTER as true/false (1/0, yes/no), and --redis-cluster wins', () => {
    for (const [v, b] of [['true', true], ['TRUE', true], ['1', true], ['yes', true], ['false', false], ['0', false], ['no', false]] as const) {
      expect(resolveConfig({ env: { BB_REAPER_REDIS_CLUSTER: v } }).redisCluster, v).toBe(b);
    }
    expect(resolveConfig({ env: { BB_REAPER_REDIS_CLUSTER: 'false' }, flags: { redisCluster: 'true' } }).redisCluster).toBe(true);
    expect(issuesOf({ BB_REAPER_REDIS_CLUSTER: 'maybe' })).toEqual([{ field: 'redisCluster', source: 'BB_REAPER_REDIS_CLUSTER', value: '`maybe`', message: 'expected true or false' }]);
  });

  it('takes several comma-separated seed nodes on a cluster only, each a whole URL, without a database number, one scheme, one user', () => {
    const seeds = 'redis://u:pw@10.0.0.1:7000, redis://10.0.0.2:7001,redis://10.0.0.3:7002';
    expect(splitRedisUrls(seeds)).toEqual(['redis://u:pw@10.0.0.1:7000', 'redis://10.0.0.2:7001', 'redis://10.0.0.3:7002']);
    expect(resolveConfig({ env: { REDIS_URL: seeds, BB_REAPER_REDIS_CLUSTER: 'true' } }).redisUrl).toBe(seeds);
    const [one] = issuesOf({ REDIS_URL: seeds });
    expect(one).toMatchObject({ field: 'redisUrl', source: 'REDIS_URL', value: '`redis://u:***@10.0.0.1:7000,redis://10.0.0.2:7001,redis://10.0.0.3:7002`' });
    expect(one?.message).toMatch(/several comma-separated seed nodes need BB_REAPER_REDIS_CLUSTER=true/);
    const cluster = (url: string) => issuesOf({ REDIS_URL: url, BB_REAPER_REDIS_CLUSTER: 'true' }).map((i) => i.message);
    expect(cluster('redis://a:1/2')).toEqual([expect.stringMatching(/database 0 only/)]);
    expect(cluster('redis://a:1,rediss://b:2')).toEqual([expect.stringMatching(/same scheme/)]);
    expect(cluster('redis://u:p@a:1,redis://v:p@b:2')).toEqual([expect.stringMatching(/user and password on the first seed node only/)]);
    expect(cluster('redis://a:1,b:2')).toEqual([expect.stringMatching(/each a whole URL/)]);
    expect(resolveConfig({ env: { REDIS_URL: 'redis://u:p@a:1,redis://u:p@b:2', BB_REAPER_REDIS_CLUSTER: 'true' } }).redisCluster).toBe(true);
  });

  it('takes TLS files with rediss:// only, the certificate and key together, and (given a file check) readable files; every bad field at once', () => {
    expect(resolveConfig({ env: { REDIS_URL: 'rediss://h:6380', BB_REAPER_REDIS_CA: '/ca.pem', BB_REAPER_REDIS_CERT: '/c.pem', BB_REAPER_REDIS_KEY: '/k.pem' } })).toMatchObject({ redisCa: '/ca.pem', redisCert: '/c.pem', redisKey: '/k.pem' });
    const issues = issuesOf({ REDIS_URL: 'redis://h:6379', BB_REAPER_REDIS_CA: '/ca.pem', BB_REAPER_REDIS_CERT: '/c.pem', BB_REAPER_RATE: '0' }, { checkFile: (p) => (p === '/ca.pem' ? 'ENOENT' : undefined) });
    expect(issues.map((i) => `${i.field}: ${i.message}`).sort()).toEqual([
      'rate: expected an integer from 1 to 10000',
      'redisCa: BB_REAPER_REDIS_CA needs a rediss:// REDIS_URL (TLS)',
      'redisCa: cannot read the file (ENOENT)',
      'redisCert: BB_REAPER_REDIS_CERT needs a rediss:// REDIS_URL (TLS)',
      'redisKey: BB_REAPER_REDIS_CERT and BB_REAPER_REDIS_KEY must be set together',
    ]);
  });

  it('masks the password of every seed node, also one holding a comma or `,redis://`', () => {
    expect(maskRedisUrls('rediss://app:s3cret@a:1,rediss://app:s3cret@b:2')).toBe('rediss://app:***@a:1,rediss://app:***@b:2');
    expect(maskRedisUrls('redis://app:pa,ss@a:1')).toBe('redis://app:***@a:1');
    for (const odd of ['redis://app:x,redis://y@a:1', 'redis://app:1234,redis://y@a:1', 'redis://u:p@h:1,redis://u:a,redis://b@h:2']) {
      expect(maskRedisUrls(odd), odd).toMatch(/^redis:\/\/\*\*\*@/);
    }
  });
});

describe('keyPrefix: the one place deciding a key\'s hash tag', () => {
  it('keeps the prefix on one Redis (existing keys stay where they are) and wraps it in a hash tag on a cluster', () => {
    expect(keyPrefix({ prefix: 'bb-reaper' })).toBe('bb-reaper');
    expect(keyPrefix({ prefix: 'bb-reaper', redisCluster: false })).toBe('bb-reaper');
    expect(keyPrefix({ prefix: 'bb-reaper', redisCluster: true })).toBe('{bb-reaper}');
    expect(keys(keyPrefix({ prefix: 'bb-reaper', redisCluster: true })).ingress).toBe('{bb-reaper}:ingress');
  });

  it('keeps a prefix that already holds a tag, and is idempotent', () => {
    expect(keyPrefix({ prefix: 'app{bb}', redisCluster: true })).toBe('app{bb}');
    const once = keyPrefix({ prefix: 'x', redisCluster: true });
    expect(keyPrefix({ prefix: once, redisCluster: true })).toBe(once);
    // `{}` is no tag (Redis hashes the whole key then)
    expect(keyPrefix({ prefix: 'a{}b', redisCluster: true })).toBe('{a{}b}');
  });

  it('reads hash tags the way Redis Cluster does', () => {
    expect(hashTagOf('{bb-reaper}:close:wait')).toBe('bb-reaper');
    expect(hashTagOf('bb-reaper:close:wait')).toBeUndefined();
    expect(hashTagOf('a{}b{c}')).toBeUndefined();
    expect(hashTagOf('a{b}{c}')).toBe('b');
  });
});

describe('permanentRedisFault: what retrying cannot fix, as one sentence', () => {
  const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
  it.each([
    [err('WRONGPASS invalid username-password pair or user is disabled.'), 'REDIS_AUTH_FAILED', /refused the credentials.*check the user and password/],
    [err('NOAUTH Authentication required.'), 'REDIS_AUTH_FAILED', /give one in REDIS_URL/],
    [err("NOPERM User app has no permissions to run the 'flushall' command"), 'REDIS_NO_PERMISSION', /ACL user.*grant the user bb-reaper's ACL rule/],
    [err('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), 'REDIS_TLS_FAILED', /not trusted.*BB_REAPER_REDIS_CA/],
    [err('unable to get local issuer certificate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'REDIS_TLS_FAILED', /not trusted/],
    [err("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'), 'REDIS_TLS_FAILED', /host name the certificate names/],
    [err('C0:error:0A00010B:SSL routines:ssl3_get_record:wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'), 'REDIS_TLS_FAILED', /does not speak TLS on this port/],
    [Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: err('WRONGPASS invalid username-password pair') }), 'REDIS_AUTH_FAILED', /refused the credentials/],
  ])('%s', (e, code, message) => {
    const fault = permanentRedisFault(e);
    expect(fault).toBeInstanceOf(BbReaperError);
    expect(fault?.code).toBe(code);
    expect(fault?.message).toMatch(message);
  });

  it('leaves what may pass to the retry loop (Redis down, a timeout, a busy server)', () => {
    for (const e of [err('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'), err('Command timed out'), err('LOADING Redis is loading the dataset in memory'), 'not an error']) {
      expect(permanentRedisFault(e)).toBeUndefined();
    }
  });
});
