import { keyPrefix } from '../shared/names.js';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  browserSettingsSchema,
  checkParam,
  proxiesSchema,
  REGIONS,
  SESSION_STATUSES,
  type CreateSessionParams,
  type Region,
  type Session,
  type SessionStatus,
} from '../browserbase/index.js';
import { formatOptionalEpochMs, printable } from '../shared/printable.js';
import { sessionStartMs } from '../sweep/find-orphans.js';
import type { SettingName } from '../config/index.js';
import type { BrowserbaseClient } from '../browserbase/index.js';
import type { Lease } from '../leases/lease-handle.js';
import { LEASE_LIMITS, LeaseError, parseLeaseTtl } from '../leases/lease-options.js';
import { leaseNewSession } from '../leases/with-session.js';
import { createProducer, type Producer } from '../producer/producer.js';
import { formatDuration } from '../shared/duration.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { leaseOutcomeText } from './toolkit/leases.js';
import { addReadCommand, retried, withClient, type Opts } from './toolkit/api-client.js';
import { accountOption, action, addAccountOption, addConfigOptions, CliError, loadConfig } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { jsonText, printErr, printJson, printOut } from './toolkit/output.js';
import { choiceOption, collectOptionProblems, intOption, InvalidArgumentError, parseJsonValue, usageError } from './toolkit/options.js';
import { compactJson, displayText, formatAge, formatTable, truncate } from './toolkit/table.js';

/** Largest `userMetadata` the API accepts, in characters of its JSON. */
export const MAX_USER_METADATA_CHARS = 511;


export function register(program: Command): void {
  const sessions = program
    .command('sessions')
    .summary('get, list, debug, record, log or create sessions directly')
    .description('Call the Browserbase API directly (needs BROWSERBASE_API_KEY): the seed\'s other actions. Reads are retried on 429/5xx; create is not (it is not idempotent).');
  const withConfig = (c: Command) => addAccountOption(addConfigOptions(c, ['apiKey', 'baseUrl', 'projectId']));

  withConfig(sessions.command('get').description('Show one session.').argument('<id>', 'session id').option('--json', 'print the API\'s JSON')).action(
    action(async (id: string, opts: Opts) =>
      withClient(opts, async (client) => {
        const s = await retried(() => client.getSession(id));
        if (opts.json) printJson(s, 2);
        else printOut(describeSession(s));
        return EXIT.OK;
      }),
    ),
  );

  withConfig(
    sessions
      .command('list')
      .description('List sessions, newest first.')
      .addOption(choiceOption('--status <status>', 'only this status', SESSION_STATUSES))
      .option('--q <query>', "user-metadata query, e.g. \"user_metadata['owner']:'ci'\"")
      .option('--json', 'print a JSON array'),
  ).action(
    action(async (opts: Opts & { status?: SessionStatus; q?: string }) => {
      return withClient(opts, async (client) => {
        const list = await retried(() => client.listSessions({ ...(opts.status ? { status: opts.status } : {}), ...(opts.q ? { q: opts.q } : {}) }));
        list.sort((a, b) => sessionStartMs(b) - sessionStartMs(a));
        if (opts.json) {
          printJson(list);
          return EXIT.OK;
        }
        const now = Date.now();
        printOut(`${list.length} session${list.length === 1 ? '' : 's'}\n`);
        if (list.length > 0) {
          printOut(
            formatTable(
              ['SESSION', 'STATUS', 'AGE', 'REGION', 'KEEPALIVE', 'METADATA'],
              list.map((s) => [s.id, s.status, formatAge(now - sessionStartMs(s)), displayText(s.region) || '-', s.keepAlive ? 'yes' : 'no', s.userMetadata ? compactJson(s.userMetadata, 60) : '-']),
            ),
          );
        }
        return EXIT.OK;
      });
    }),
  );

  const read = (name: string, description: string) => ({ name, description, id: 'session id', settings: ['apiKey', 'baseUrl', 'projectId'] as SettingName[] });
  addReadCommand(sessions, read('debug', 'Show the live debugger URLs of a running session.'), (client, id) => client.getDebugUrls(id), (d) => {
    // Page titles and URLs are set by whatever website the browser visited.
    printOut(`debugger (fullscreen)  ${printable(d.debuggerFullscreenUrl)}\ndebugger               ${printable(d.debuggerUrl)}\nwebsocket              ${printable(d.wsUrl)}\n`);
    for (const p of d.pages ?? []) {
      printOut(`page ${printable(p.id)}  ${truncate(displayText(p.title) || '(untitled)', 40)}  ${printable(p.url)}\n  ${printable(p.debuggerFullscreenUrl)}\n`);
    }
  });

  withConfig(
    sessions
      .command('recording')
      .description('Download the rrweb recording of a session as JSON.')
      .argument('<id>', 'session id')
      .option('-o, --out <file>', 'write the JSON array of rrweb events to this file (default: stdout)'),
  ).action(
    action(async (id: string, opts: Opts & { out?: string }) =>
      withClient(opts, async (client) => {
        const events = await retried(() => client.getRecording(id));
        const text = `${jsonText(events)}\n`;
        if (opts.out === undefined) process.stdout.write(text);
        else {
          await writeFile(opts.out, text).catch((err: Error) => {
            throw new CliError(`cannot write --out \`${opts.out}\`: ${err.message}`, EXIT.FAILURE);
          });
          printErr(`wrote ${events.length} rrweb event${events.length === 1 ? '' : 's'} to ${printable(opts.out)}\n`);
        }
        return EXIT.OK;
      }),
    ),
  );

  addReadCommand(sessions, read('logs', 'Show the CDP log of a session: one line per call (time, method, page).'), (client, id) => client.getSessionLogs(id), (logs) => {
    printOut(`${logs.length} log entr${logs.length === 1 ? 'y' : 'ies'}\n`);
    if (logs.length > 0) {
      printOut(formatTable(['TIME', 'METHOD', 'PAGE'], logs.map((l) => [formatOptionalEpochMs(l.timestamp) ?? '-', displayText(l.method) || '-', displayText(l.pageId) || '-'])));
    }
  });

  addConfigOptions(withConfig(
    sessions
      .command('create')
      .description('Create a session (not retried: a retry could create two).')
      .option('--keep-alive', 'keep the session alive after its last connection closes')
      .addOption(intOption('--timeout <seconds>', 'session timeout in seconds (60-21600)', { min: 60, max: 21_600, unit: 'seconds' }))
      .addOption(choiceOption('--region <region>', 'region to run the browser in', REGIONS))
      .option('--user-metadata <json>', 'a JSON object (under 512 characters) to find the session by later, e.g. \'{"owner":"ci"}\'')
      .option('--context-id <id>', 'reuse this saved context (cookies and storage: an auth profile)')
      .option('--persist', 'save the context\'s changes back at the end (needs --context-id)')
      .option('--extension-id <id>', 'load this uploaded extension')
      .option('--proxies <json>', 'true for Browserbase\'s proxies, or a JSON array of proxy configs, e.g. \'[{"type":"browserbase","geolocation":{"country":"US"}}]\'')
      .option('--browser-settings <json>', 'a JSON object of browser settings, e.g. \'{"viewport":{"width":1280,"height":720},"blockAds":true}\'')
      .option('--lease <duration>', `close the new session this long from now unless renewed (\`bb-reaper lease <id> --ttl ...\`), ${formatDuration(LEASE_LIMITS.minTtlMs)} to ${formatDuration(LEASE_LIMITS.maxTtlMs)}; needs Redis. If the lease cannot be registered, the session is closed at once`)
      .option('--json', 'print the API\'s JSON (with --lease, plus a `lease` field: its outcome)'),
  ), ['redisUrl', 'prefix']).action(
    action(async (opts: Opts & CreateFlags) => {
      const params = parseCreateParams(opts);
      const leaseMs = opts.lease === undefined ? undefined : parseLeaseFlag(opts.lease);
      // Redis is checked before the session exists: an unreachable one creates nothing.
      const leases = leaseMs === undefined ? undefined : await openLeases(opts);
      try {
        return await withClient(opts, async (client) => {
          const s = await client.createSession(params);
          const lease = leases && leaseMs !== undefined ? await leaseCreated(leases.producer, client, s.id, leaseMs, accountOption(opts)) : undefined;
          if (opts.json) printJson(lease ? { ...s, lease: lease.outcome } : s, 2);
          else {
            printOut(describeSession(s));
            if (s.connectUrl) printOut(`connectUrl   ${printable(s.connectUrl)}\n`);
            if (lease) printOut(`lease        ${leaseOutcomeText(lease.outcome)}\n`);
          }
          return EXIT.OK;
        });
      } finally {
        await leases?.close();
      }
    }),
  );
}

/** `--lease`: a lease TTL; a bad one is a usage error (exit 2) before anything is created. */
function parseLeaseFlag(value: string): number {
  try {
    return parseLeaseTtl(value, '--lease');
  } catch (err) {
    if (err instanceof LeaseError) throw usageError(err.message);
    throw err;
  }
}

/** A producer on the configured Redis (checked to answer) for `--lease`. */
async function openLeases(opts: Opts): Promise<{ producer: Producer; close(): Promise<void> }> {
  const config = loadConfig(opts, ['apiKey'], { keysFor: [accountOption(opts)] });
  const redis = await connectRedis(config, 'cli-sessions');
  const producer = createProducer({ connection: redis, prefix: keyPrefix(config) });
  return {
    producer,
    async close() {
      await producer.close();
      await closeRedis(redis);
    },
  };
}

/** The new session's lease; when it cannot be registered the session is closed at once and the command fails (exit 1). */
async function leaseCreated(producer: Producer, client: BrowserbaseClient, sessionId: string, ttlMs: number, account: string): Promise<Lease> {
  try {
    // In the account whose key created the session: its close goes out with that key.
    return await leaseNewSession(producer, client, sessionId, { ttl: ttlMs, source: 'cli', account });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.FAILURE);
  }
}

interface CreateFlags {
  lease?: string;
  keepAlive?: boolean;
  /** Seconds, checked by its option. */
  timeout?: number;
  region?: Region;
  userMetadata?: string;
  contextId?: string;
  persist?: boolean;
  extensionId?: string;
  proxies?: string;
  browserSettings?: string;
}

/**
 * The create parameters from the flags, every JSON flag checked against the OpenAPI document's
 * request body before any request. Every bad flag is reported at once: exit 2, each message naming
 * the flag (and the field inside its JSON) and the value.
 */
export function parseCreateParams(opts: CreateFlags): CreateSessionParams {
  const params: CreateSessionParams = {};
  const problems = collectOptionProblems();
  if (opts.keepAlive) params.keepAlive = true;
  if (opts.timeout !== undefined) params.timeout = opts.timeout;
  if (opts.region !== undefined) params.region = opts.region;
  if (opts.userMetadata !== undefined) params.userMetadata = problems.check(() => parseUserMetadata(opts.userMetadata as string));
  const nonEmpty = (flag: string, v: string | undefined) => {
    if (v !== undefined && v.trim() === '') problems.add(`Expected \`${flag}\` to be a non-empty id, got \`${v}\``);
    return v;
  };
  const contextId = nonEmpty('--context-id', opts.contextId);
  if (opts.persist && opts.contextId === undefined) problems.add('`--persist` saves a context: give `--context-id <id>` too');
  const extensionId = nonEmpty('--extension-id', opts.extensionId);
  if (extensionId) params.extensionId = extensionId;
  if (opts.proxies !== undefined) params.proxies = problems.check(() => checkedJson(opts.proxies as string, '--proxies', proxiesSchema, 'true or a JSON array of proxy configs'));
  let settings = opts.browserSettings === undefined ? undefined : problems.check(() => checkedJson(opts.browserSettings as string, '--browser-settings', browserSettingsSchema, 'a JSON object'));
  if (contextId) {
    if (settings?.context !== undefined) problems.add('`--context-id` and `--browser-settings` `context` both name a context: give one');
    settings = { ...settings, context: { id: contextId, ...(opts.persist ? { persist: true } : {}) } };
  }
  if (settings !== undefined) params.browserSettings = settings;
  problems.throwIfAny();
  // Absent flags leave no `undefined` keys behind (a failed check above has thrown already).
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
  return params;
}

/** A JSON flag parsed and checked against `schema`; throws `InvalidArgumentError` naming the flag, the field and the value. */
function checkedJson<T>(text: string, flag: string, schema: Parameters<typeof checkParam<T>>[0], what: string): T {
  const value = parseJsonValue(text, flag, what);
  const r = checkParam(schema, value);
  if (r.ok) return r.value;
  throw new InvalidArgumentError(
    r.issues.map((i) => (i.path === '' ? `Expected \`${flag}\` to be ${i.expected}, got \`${i.got}\`` : `Expected \`${flag}\` field \`${i.path}\` to be ${i.expected}, got \`${i.got}\``)).join('; '),
  );
}

/** `--user-metadata`: a JSON object under 512 characters. Throws `InvalidArgumentError` (exit 2). */
function parseUserMetadata(text: string): Record<string, unknown> {
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`Expected \`--user-metadata\` to be a JSON object, got \`${truncate(text, 60)}\` (${(err as Error).message})`);
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new InvalidArgumentError(`Expected \`--user-metadata\` to be a JSON object, got \`${truncate(text, 60)}\``);
  const size = JSON.stringify(meta).length;
  if (size > MAX_USER_METADATA_CHARS) throw new InvalidArgumentError(`Expected \`--user-metadata\` to be under 512 characters as JSON, got ${size}`);
  return meta as Record<string, unknown>;
}

/** The human form of a session; every field comes from the API (its shape only loosely checked), so each is made printable. */
function describeSession(s: Session, now = Date.now()): string {
  const age = formatAge(now - sessionStartMs(s));
  const rows: Array<[string, string]> = [
    ['id', displayText(s.id)],
    ['status', displayText(s.status)],
    ['runtime', sessionRuntime(s, now)],
    ['region', displayText(s.region)],
    ['proxies', describeProxies(s.proxies)],
    ['proxyBytes', displayText(s.proxyBytes)],
    ['keepAlive', s.keepAlive ? 'yes' : 'no'],
    ['startedAt', `${displayText(s.startedAt)} (${age} ago)`],
    ['expiresAt', displayText(s.expiresAt)],
    ...(s.endedAt ? [['endedAt', displayText(s.endedAt)] as [string, string]] : []),
    ['projectId', displayText(s.projectId)],
    ...(s.contextId ? [['contextId', displayText(s.contextId)] as [string, string]] : []),
    ...(s.userMetadata ? [['userMetadata', compactJson(s.userMetadata, 1000)] as [string, string]] : []),
  ];
  return rows.map(([k, v]) => `${k.padEnd(12)} ${printable(v || '-')}`).join('\n') + '\n';
}

/** How long the session ran: `startedAt` to `endedAt`, or to now (`4m12s so far`) while it has not ended; `-` without a readable start. */
export function sessionRuntime(s: Pick<Session, 'startedAt' | 'endedAt'>, now = Date.now()): string {
  const started = Date.parse(String(s.startedAt));
  if (!Number.isFinite(started)) return '-';
  if (s.endedAt === undefined) return `${formatAge(now - started)} so far`;
  const ended = Date.parse(String(s.endedAt));
  return Number.isFinite(ended) ? formatAge(ended - started) : '-';
}

/** A session's configured proxies, if its data names them: `true` is Browserbase's default; a list is shown as JSON with passwords masked. */
function describeProxies(proxies: unknown): string {
  if (proxies === undefined || proxies === null) return '';
  if (proxies === false) return 'none';
  if (proxies === true) return 'browserbase (default)';
  if (!Array.isArray(proxies)) return displayText(proxies);
  const masked = proxies.map((p: unknown) => (p !== null && typeof p === 'object' && 'password' in p ? { ...p, password: '***' } : p));
  return compactJson(masked, 300);
}
