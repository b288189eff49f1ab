import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  BrowserbaseError,
  createBrowserbaseClient,
  REGIONS,
  SESSION_STATUSES,
  withRetries,
  type BrowserbaseClient,
  type CreateSessionParams,
  type Region,
  type Session,
  type SessionStatus,
} from '../browserbase/index.js';
import { printable } from '../shared/printable.js';
import { sessionStartMs } from '../sweep/find-orphans.js';
import { action, addConfigOptions, CliError, loadConfig } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { jsonText, printErr, printJson, printOut } from './toolkit/output.js';
import { choiceOption, intOption, InvalidArgumentError } from './toolkit/options.js';
import { compactJson, displayText, formatAge, formatTable, truncate } from './toolkit/table.js';

/** Largest `userMetadata` the API accepts, in characters of its JSON. */
export const MAX_USER_METADATA_CHARS = 511;

type Opts = Record<string, unknown> & { json?: boolean };

/** Runs `fn` with a client built from the configuration (needs the API key); maps API errors to exit codes. */
async function withClient(opts: Opts, fn: (client: BrowserbaseClient) => Promise<number>): Promise<number> {
  const config = loadConfig(opts, ['apiKey']);
  const client = createBrowserbaseClient({ apiKey: config.apiKey as string, baseUrl: config.baseUrl, ...(config.projectId ? { projectId: config.projectId } : {}) });
  try {
    return await fn(client);
  } catch (err) {
    throw toCliError(err);
  } finally {
    await client.close();
  }
}

/** API errors as the CLI reports them: bad input (invalid id, 400/422) is exit 2, the rest exit 1. */
export function toCliError(err: unknown): unknown {
  if (!(err instanceof BrowserbaseError)) return err;
  const msg = `${err.message} [${err.code}]`;
  if (err.code === 'INVALID_SESSION_ID') return new CliError(msg, EXIT.USAGE);
  if (err.code === 'REJECTED' && (err.statusCode === 400 || err.statusCode === 422)) return new CliError(msg, EXIT.USAGE);
  return new CliError(msg, EXIT.FAILURE);
}

const retried = <T>(fn: () => Promise<T>) => withRetries(fn, { retries: 3 });

export function register(program: Command): void {
  const sessions = program
    .command('sessions')
    .summary('get, list, debug, record or create sessions directly')
    .description('Call the Browserbase API directly (needs BROWSERBASE_API_KEY): the seed\'s other actions. Reads are retried on 429/5xx; create is not (it is not idempotent).');
  const withConfig = (c: Command) => addConfigOptions(c, ['apiKey', 'baseUrl', 'projectId']);

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

  withConfig(sessions.command('debug').description('Show the live debugger URLs of a running session.').argument('<id>', 'session id').option('--json', 'print the API\'s JSON')).action(
    action(async (id: string, opts: Opts) =>
      withClient(opts, async (client) => {
        const d = await retried(() => client.getDebugUrls(id));
        if (opts.json) printJson(d, 2);
        else {
          // Page titles and URLs are set by whatever website the browser visited.
          printOut(`debugger (fullscreen)  ${printable(d.debuggerFullscreenUrl)}\ndebugger               ${printable(d.debuggerUrl)}\nwebsocket              ${printable(d.wsUrl)}\n`);
          for (const p of d.pages ?? []) {
            printOut(`page ${printable(p.id)}  ${truncate(displayText(p.title) || '(untitled)', 40)}  ${printable(p.url)}\n  ${printable(p.debuggerFullscreenUrl)}\n`);
          }
        }
        return EXIT.OK;
      }),
    ),
  );

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

  withConfig(
    sessions
      .command('create')
      .description('Create a session (not retried: a retry could create two).')
      .option('--keep-alive', 'keep the session alive after its last connection closes')
      .addOption(intOption('--timeout <seconds>', 'session timeout in seconds (60-21600)', { min: 60, max: 21_600, unit: 'seconds' }))
      .addOption(choiceOption('--region <region>', 'region to run the browser in', REGIONS))
      .option('--user-metadata <json>', 'a JSON object (under 512 characters) to find the session by later, e.g. \'{"owner":"ci"}\'')
      .option('--json', 'print the API\'s JSON'),
  ).action(
    action(async (opts: Opts & CreateFlags) => {
      const params = parseCreateParams(opts);
      return withClient(opts, async (client) => {
        const s = await client.createSession(params);
        if (opts.json) printJson(s, 2);
        else {
          printOut(describeSession(s));
          if (s.connectUrl) printOut(`connectUrl   ${printable(s.connectUrl)}\n`);
        }
        return EXIT.OK;
      });
    }),
  );
}

interface CreateFlags {
  keepAlive?: boolean;
  /** Seconds, checked by its option. */
  timeout?: number;
  region?: Region;
  userMetadata?: string;
}

/** The create parameters from the (already checked) flags; `--user-metadata` is checked here: exit 2 naming the flag and value. */
export function parseCreateParams(opts: CreateFlags): CreateSessionParams {
  const params: CreateSessionParams = {};
  if (opts.keepAlive) params.keepAlive = true;
  if (opts.timeout !== undefined) params.timeout = opts.timeout;
  if (opts.region !== undefined) params.region = opts.region;
  if (opts.userMetadata !== undefined) params.userMetadata = parseUserMetadata(opts.userMetadata);
  return params;
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
function describeSession(s: Session): string {
  const age = formatAge(Date.now() - sessionStartMs(s));
  const rows: Array<[string, string]> = [
    ['id', displayText(s.id)],
    ['status', displayText(s.status)],
    ['region', displayText(s.region)],
    ['keepAlive', s.keepAlive ? 'yes' : 'no'],
    ['startedAt', `${displayText(s.startedAt)} (${age} ago)`],
    ['expiresAt', displayText(s.expiresAt)],
    ...(s.endedAt ? [['endedAt', displayText(s.endedAt)] as [string, string]] : []),
    ['projectId', displayText(s.projectId)],
    ...(s.userMetadata ? [['userMetadata', compactJson(s.userMetadata, 1000)] as [string, string]] : []),
  ];
  return rows.map(([k, v]) => `${k.padEnd(12)} ${printable(v || '-')}`).join('\n') + '\n';
}
