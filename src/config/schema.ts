import { z } from 'zod';
import { DEFAULT_PREFIX } from '../shared/names.js';
import { DEFAULT_REDIS_URL } from '../shared/redis.js';

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

/** Where each setting comes from: the environment variable and the CLI flag. */
export const SETTINGS = {
  redisUrl: { env: 'REDIS_URL', flag: '--redis-url', secret: false },
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

const uiSecret = z
  .string()
  .min(LIMITS.MIN_UI_SECRET_LENGTH, `expected at least ${LIMITS.MIN_UI_SECRET_LENGTH} characters`);

/**
 * The one schema of bb-reaper's configuration: defaults, limits and meaning of every setting.
 * `rate` and `concurrency` are left unset here and filled from `plan` by `resolveConfig`.
 */
export const configSchema = z
  .object({
    /** Redis for queues, limiter, ingress and results. */
    redisUrl: url(['redis:', 'rediss:']).default(DEFAULT_REDIS_URL),
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
    // A token equal to the password would be the admin credential under another name.
    if (c.metricsToken !== undefined && c.metricsToken === c.uiPassword) {
      ctx.addIssue({ code: 'custom', path: ['metricsToken'], message: 'expected a token different from BB_REAPER_UI_PASSWORD (the token must not grant what the password grants)' });
    }
  });

export type ParsedConfig = z.output<typeof configSchema>;
