import { z } from 'zod';
import { DEFAULT_PREFIX } from '../shared/names.js';
import { DEFAULT_REDIS_URL, splitRedisUrls } from '../shared/redis.js';

/** Named limits: the schema and the docs read them from here. */
export const LIMITS = {
  MAX_RATE: 10_000,
  MAX_CONCURRENCY: 1_000,
  MAX_ATTEMPTS: 100,
  MIN_BACKOFF_MS: 1,
  MAX_BACKOFF_MS: 3_600_000,
  /** Fewest characters of `BB_REAPER_UI_PASSWORD` and `BB_REAPER_METRICS_TOKEN` (the UI can purge dead letters). */
  MIN_UI_SECRET_LENGTH: 12,
} as const;

export const PLANS = ['free', 'developer', 'startup', 'scale'] as const;
export type Plan = (typeof PLANS)[number];

/**
 * Rate and concurrency presets per Browserbase plan. Browserbase documents no request-rate limit
 * for close/get/list, only concurrent browsers (3 / 25 / 100 / 250) and creations per minute; these
 * presets are conservative starting points and the worker adapts downward on 429s anyway.
 */
export const PLAN_PRESETS: Record<Plan, { rate: number; concurrency: number }> = {
  free: { rate: 5, concurrency: 3 },
  developer: { rate: 25, concurrency: 25 },
  startup: { rate: 50, concurrency: 50 },
  scale: { rate: 150, concurrency: 100 },
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Where each setting comes from: the environment variable and the CLI flag. A `boolean` setting's
 * flag takes no value (`--redis-cluster`); its variable takes `true` / `false` (or `1` / `0`, `yes` / `no`).
 */
export const SETTINGS = {
  redisUrl: { env: 'REDIS_URL', flag: '--redis-url', secret: false },
  redisCluster: { env: 'BB_REAPER_REDIS_CLUSTER', flag: '--redis-cluster', secret: false, boolean: true },
  redisCa: { env: 'BB_REAPER_REDIS_CA', flag: '--redis-ca', secret: false },
  redisCert: { env: 'BB_REAPER_REDIS_CERT', flag: '--redis-cert', secret: false },
  redisKey: { env: 'BB_REAPER_REDIS_KEY', flag: '--redis-key', secret: false },
  apiKey: { env: 'BROWSERBASE_API_KEY', flag: '--api-key', secret: true },
  baseUrl: { env: 'BROWSERBASE_BASE_URL', flag: '--base-url', secret: false },
  projectId: { env: 'BROWSERBASE_PROJECT_ID', flag: '--project-id', secret: false },
  prefix: { env: 'BB_REAPER_PREFIX', flag: '--prefix', secret: false },
  rate: { env: 'BB_REAPER_RATE', flag: '--rate', secret: false },
  concurrency: { env: 'BB_REAPER_CONCURRENCY', flag: '--concurrency', secret: false },
  plan: { env: 'BB_REAPER_PLAN', flag: '--plan', secret: false },
  attempts: { env: 'BB_REAPER_ATTEMPTS', flag: '--attempts', secret: false },
  backoffMs: { env: 'BB_REAPER_BACKOFF_MS', flag: '--backoff-ms', secret: false },
  uiPort: { env: 'BB_REAPER_UI_PORT', flag: '--port', secret: false },
  uiHost: { env: 'BB_REAPER_UI_HOST', flag: '--host', secret: false },
  uiUser: { env: 'BB_REAPER_UI_USER', flag: '--user', secret: false },
  uiPassword: { env: 'BB_REAPER_UI_PASSWORD', flag: '--password', secret: true },
  metricsToken: { env: 'BB_REAPER_METRICS_TOKEN', flag: '--metrics-token', secret: true },
  logLevel: { env: 'LOG_LEVEL', flag: '--log-level', secret: false },
  accountsFile: { env: 'BB_REAPER_ACCOUNTS', flag: '--accounts', secret: false },
} as const;

export type SettingName = keyof typeof SETTINGS;

/** The settings every command that talks to Redis takes: where it is, cluster or not, and its TLS files. */
export const REDIS_SETTINGS = ['redisUrl', 'redisCluster', 'redisCa', 'redisCert', 'redisKey'] as const satisfies readonly SettingName[];

/** The settings naming a file (checked for readability when `resolveConfig` is given `checkFile`). */
export const FILE_SETTINGS = ['redisCa', 'redisCert', 'redisKey'] as const satisfies readonly SettingName[];

/** True for a setting whose flag takes no value. */
export function isBooleanSetting(name: SettingName): boolean {
  const s = SETTINGS[name];
  return 'boolean' in s && s.boolean;
}

export const intFrom = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected an integer from ${min} to ${max}` })
    .pipe(z.number().int(`expected an integer from ${min} to ${max}`).min(min, `expected an integer from ${min} to ${max}`).max(max, `expected an integer from ${min} to ${max}`));

export const url = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };
const bool = z.preprocess(
  (v) => (typeof v === 'string' ? BOOLEAN_WORDS[v.trim().toLowerCase()] ?? v : v),
  z.boolean({ error: 'expected true or false' }),
);

/** One Redis URL, or (cluster) several comma-separated seed URLs: each `redis://` or `rediss://`. */
const redisUrls = z.string().superRefine((s, ctx) => {
  for (const u of splitRedisUrls(s)) {
    let protocol = '';
    try {
      protocol = new URL(u).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      ctx.addIssue({ code: 'custom', message: 'expected a URL starting with redis:// or rediss:// (on a cluster: several, comma-separated, each a whole URL)' });
      return;
    }
  }
});

/** A path to a PEM file. */
const pemFile = z.string().min(1, 'expected a path to a PEM file');

const uiSecret = z
  .string()
  .min(LIMITS.MIN_UI_SECRET_LENGTH, `expected at least ${LIMITS.MIN_UI_SECRET_LENGTH} characters`);

/**
 * The one schema of bb-reaper's configuration: defaults, limits and meaning of every setting.
 * `rate` and `concurrency` are left unset here and filled from `plan` by `resolveConfig`.
 */
export const configSchema = z
  .object({
    /**
     * Redis for queues, limiter, ingress and results: `redis://[user:password@]host:port[/db]`, or
     * `rediss://` for TLS. With `redisCluster`, one or more comma-separated seed nodes of the cluster.
     */
    redisUrl: redisUrls.default(DEFAULT_REDIS_URL),
    /** `REDIS_URL` names seed nodes of a Redis Cluster; every key then lives under one hash tag (see `keyPrefix`). */
    redisCluster: bool.default(false),
    /** CA file (PEM) that signed the Redis server's certificate, for `rediss://`. Default: Node's CAs (and `NODE_EXTRA_CA_CERTS`). */
    redisCa: pemFile.optional(),
    /** Client certificate (PEM) for Redis servers that ask for one (`rediss://`, with `redisKey`). */
    redisCert: pemFile.optional(),
    /** Private key (PEM) of `redisCert`. */
    redisKey: pemFile.optional(),
    /** Browserbase API key; required by the worker, sweep and sessions commands. */
    apiKey: z.string().min(1, 'expected a non-empty API key').optional(),
    /** Browserbase API base URL (point it at the simulator). */
    baseUrl: url(['http:', 'https:']).default('https://api.browserbase.com'),
    /** Sent as `projectId` when set. */
    projectId: z.string().min(1).max(256).optional(),
    /** Redis key prefix for every key bb-reaper writes. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_{}.-]{1,64}$/, 'expected 1-64 characters of letters, digits, `_ { } . -`')
      .default(DEFAULT_PREFIX),
    /** Plan preset for rate and concurrency. */
    plan: z.enum(PLANS, { error: `expected one of ${PLANS.join(', ')}` }).default('developer'),
    /** Max close requests per second, all workers together. Default: the plan's preset. */
    rate: intFrom(1, LIMITS.MAX_RATE).optional(),
    /** Max requests in flight, all workers together. Default: the plan's preset. */
    concurrency: intFrom(1, LIMITS.MAX_CONCURRENCY).optional(),
    /** Attempts before dead-lettering (transient errors only; 429s never count). */
    attempts: intFrom(1, LIMITS.MAX_ATTEMPTS).default(5),
    /** Base delay of exponential backoff with full jitter, in ms. */
    backoffMs: intFrom(LIMITS.MIN_BACKOFF_MS, LIMITS.MAX_BACKOFF_MS).default(1000),
    /** UI server port. */
    uiPort: intFrom(0, 65535).default(3000),
    /** UI server host. */
    uiHost: z.string().min(1).default('127.0.0.1'),
    /** UI user name (required, with the password, to bind beyond loopback). */
    uiUser: z.string().min(1).optional(),
    /** UI password, at least {@link LIMITS.MIN_UI_SECRET_LENGTH} characters. */
    uiPassword: uiSecret.optional(),
    /**
     * Read-only token for Prometheus: `Authorization: Bearer <token>` on `GET /metrics` only (it
     * cannot read `/api` or `/ui`, nor write). At least {@link LIMITS.MIN_UI_SECRET_LENGTH} characters.
     */
    metricsToken: uiSecret.optional(),
    /** pino log level. */
    logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    /** Path of the accounts file (JSON or YAML): many API keys, each with its own limits. See `config/accounts.ts`. */
    accountsFile: z.string().min(1, 'expected a file path').optional(),
  })
  .superRefine((c, ctx) => {
    checkRedisSettings(c, ctx);
    // A token equal to the password would be the admin credential under another name.
    if (c.metricsToken !== undefined && c.metricsToken === c.uiPassword) {
      ctx.addIssue({ code: 'custom', path: ['metricsToken'], message: 'expected a token different from BB_REAPER_UI_PASSWORD (the token must not grant what the password grants)' });
    }
  });

export type ParsedConfig = z.output<typeof configSchema>;

/** How the Redis settings must fit together: one URL unless on a cluster, TLS files only with `rediss://`. */
function checkRedisSettings(
  c: { redisUrl: string; redisCluster: boolean; redisCa?: string | undefined; redisCert?: string | undefined; redisKey?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const parsed: URL[] = [];
  for (const u of splitRedisUrls(c.redisUrl)) {
    try {
      parsed.push(new URL(u));
    } catch {
      return; // the URL's own check reported it
    }
  }
  const [first] = parsed;
  if (first === undefined) return;
  const cluster = c.redisCluster === true;
  if (!cluster && parsed.length > 1) {
    issue('redisUrl', 'expected one URL; several comma-separated seed nodes need BB_REAPER_REDIS_CLUSTER=true');
  }
  if (cluster) {
    if (parsed.some((u) => u.pathname !== '' && u.pathname !== '/' && u.pathname !== '/0')) issue('redisUrl', 'expected no database number: a Redis Cluster has database 0 only');
    if (parsed.some((u) => u.protocol !== first.protocol)) issue('redisUrl', 'expected every seed node to use the same scheme (all redis:// or all rediss://)');
    if (parsed.some((u) => (u.username !== '' || u.password !== '') && (u.username !== first.username || u.password !== first.password))) {
      issue('redisUrl', 'expected the user and password on the first seed node only, or the same on every one');
    }
  }
  const tls = first.protocol === 'rediss:';
  for (const [name, env] of [['redisCa', 'BB_REAPER_REDIS_CA'], ['redisCert', 'BB_REAPER_REDIS_CERT'], ['redisKey', 'BB_REAPER_REDIS_KEY']] as const) {
    if (c[name] !== undefined && !tls) issue(name, `${env} needs a rediss:// REDIS_URL (TLS)`);
  }
  if ((c.redisCert === undefined) !== (c.redisKey === undefined)) {
    issue(c.redisCert === undefined ? 'redisCert' : 'redisKey', 'BB_REAPER_REDIS_CERT and BB_REAPER_REDIS_KEY must be set together');
  }
}
