import type { Command } from 'commander';
import {
  MAX_SEED_COUNT,
  resolveSimulatorOptions,
  SimulatorInputError,
  startSimulator,
  type SimulatorOptions,
} from '../simulator/index.js';
import { action, CliError } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { collectOptionProblems, parseInteger, parseNumber, usageError } from './toolkit/options.js';
import { printJson } from './toolkit/output.js';
import { shutdownOnSignal, stderrShutdownLog } from './toolkit/shutdown.js';

interface SimulatorFlags {
  port: string;
  host: string;
  projectId?: string;
  rate?: string;
  burst?: string;
  apiKey?: string[];
  project?: string[];
  concurrencyLimit?: string;
  releaseDelayMs?: string;
  errorRate?: string;
  resetRate?: string;
  hangRate?: string;
  latencyMs?: string;
  closeFinished?: string;
  sessions?: string;
  json?: boolean;
}

/** Option field (as `resolveSimulatorOptions` names it) -> the flag that sets it. */
const FLAG_OF: Record<string, string> = {
  port: '--port',
  host: '--host',
  projectId: '--project-id',
  rate: '--rate',
  burst: '--burst',
  apiKeys: '--api-key',
  projects: '--project',
  concurrencyLimit: '--concurrency-limit',
  releaseDelayMs: '--release-delay-ms',
  'faults.errorRate': '--error-rate',
  'faults.resetRate': '--reset-rate',
  'faults.hangRate': '--hang-rate',
  'faults.latencyMs': '--latency-ms',
  'faults.closeFinished': '--close-finished',
};

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function register(program: Command): void {
  program
    .command('simulator')
    .description('run the Browserbase API simulator (a stand-in for api.browserbase.com) until SIGINT/SIGTERM')
    .option('--port <port>', 'TCP port (0 = any free port)', '4010')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--project-id <id>', 'project the API keys belong to (default sim-project)')
    .option('--rate <n>', 'token-bucket refill, requests per second per API key (0 = no limit; default 0)')
    .option('--burst <n>', 'token-bucket size (default max(1, rate))')
    .option('--api-key <key>', 'accepted X-BB-API-Key; repeat for several (default sim-key)', collect)
    .option('--project <id=key,...>', 'another project with its own API keys (a key sees only its project\'s sessions); repeat for several', collect)
    .option('--concurrency-limit <n>', "plan's concurrent browsers: Create answers 429 beyond it (default 25)")
    .option('--release-delay-ms <ms>', 'how long a released session still reads RUNNING (default 100)')
    .option('--error-rate <p>', 'probability 0..1 of a 500/502/503 answer (default 0)')
    .option('--reset-rate <p>', 'probability 0..1 of resetting the connection without answer (default 0)')
    .option('--hang-rate <p>', 'probability 0..1 of never answering (default 0)')
    .option('--latency-ms <min,max>', 'uniform delay before answering, ms, e.g. 5,50 (default 0)')
    .option('--close-finished <code>', 'answer to closing an already-ended session: 200, 409 or 400 (default 200)')
    .option('--sessions <n>', `RUNNING sessions to create at start, 0..${MAX_SEED_COUNT} (default 0)`)
    .option('--json', 'print the start line as JSON')
    .action(action(async (flags: SimulatorFlags) => runSimulator(flags)));
}

async function runSimulator(flags: SimulatorFlags): Promise<number> {
  const { options, sessions } = toOptions(flags);
  const sim = await startSimulator(options).catch((err: unknown) => {
    if (err instanceof SimulatorInputError) throw flagsError(err);
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot listen on ${options.host}:${options.port}: ${code ?? (err as Error).message}`, EXIT.FAILURE);
  });
  // Signal handlers first: a SIGINT sent as soon as the start line appears is a clean stop.
  const stopped = shutdownOnSignal({
    log: stderrShutdownLog,
    messages: { stopping: 'stopping the simulator (send the signal again to exit at once)', secondSignal: 'second signal, exiting now' },
    graceful: async (signal) => {
      const total = sim.stats().requests.total;
      await sim.close();
      process.stderr.write(`bb-reaper: simulator stopped on ${signal} after ${total} API requests\n`);
    },
  });
  if (sessions > 0) sim.createSessions(sessions);
  const rate = options.rate ?? 0;
  if (flags.json) {
    const summary = {
      url: sim.url,
      port: sim.port,
      host: options.host,
      projectId: options.projectId ?? 'sim-project',
      apiKeys: options.apiKeys?.length ?? 1,
      projects: [options.projectId ?? 'sim-project', ...Object.keys(options.projects ?? {})],
      rate,
      burst: options.burst ?? Math.max(1, rate),
      sessions,
    };
    printJson(summary);
  } else {
    const limit = rate > 0 ? `${rate} req/s per key` : 'no rate limit';
    process.stdout.write(`Browserbase simulator listening on ${sim.url} (${limit}, ${sessions} sessions seeded)\n`);
  }

  return stopped;
}

/** Turns the flags into simulator options; a flag that is not even a number is reported here. */
function toOptions(flags: SimulatorFlags): { options: SimulatorOptions; sessions: number } {
  const problems = collectOptionProblems();
  const num = (flag: string, raw: string | undefined): number | undefined => (raw === undefined ? undefined : problems.check(() => parseNumber(raw, flag)));
  let latencyMs: [number, number] | undefined;
  if (flags.latencyMs !== undefined) {
    const parts = flags.latencyMs.split(',');
    const values = parts.map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
    if (parts.length > 2 || values.some((v) => !Number.isFinite(v))) {
      problems.add(`Expected \`--latency-ms\` to be <min,max> or <ms> in ms, e.g. 5,50, got \`${flags.latencyMs}\``);
    } else latencyMs = [values[0] ?? 0, values[1] ?? values[0] ?? 0];
  }
  let projects: Record<string, string[]> | undefined;
  for (const spec of flags.project ?? []) {
    const eq = spec.indexOf('=');
    const id = spec.slice(0, eq);
    const keys = spec.slice(eq + 1).split(',');
    if (eq <= 0 || keys.some((k) => k === '')) {
      problems.add(`Expected \`--project\` to be <project id>=<key>[,<key>...], e.g. proj-b=key-b, got \`${eq <= 0 ? spec.slice(0, 40) : `${id}=…`}\``);
      continue;
    }
    projects = { ...projects, [id]: [...(projects?.[id] ?? []), ...keys] };
  }
  const sessions = flags.sessions === undefined ? 0 : (problems.check(() => parseInteger(flags.sessions as string, '--sessions', { min: 0, max: MAX_SEED_COUNT })) ?? 0);
  const faults: SimulatorOptions['faults'] = {
    errorRate: num('--error-rate', flags.errorRate),
    resetRate: num('--reset-rate', flags.resetRate),
    hangRate: num('--hang-rate', flags.hangRate),
    latencyMs,
    closeFinished: flags.closeFinished as '200' | '409' | '400' | undefined,
  };
  const options: SimulatorOptions = {
    port: num('--port', flags.port),
    host: flags.host,
    projectId: flags.projectId,
    apiKeys: flags.apiKey,
    ...(projects ? { projects } : {}),
    rate: num('--rate', flags.rate),
    burst: num('--burst', flags.burst),
    concurrencyLimit: num('--concurrency-limit', flags.concurrencyLimit),
    releaseDelayMs: num('--release-delay-ms', flags.releaseDelayMs),
    faults: Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined)),
  };
  try {
    resolveSimulatorOptions(options);
  } catch (err) {
    if (!(err instanceof SimulatorInputError)) throw err;
    for (const problem of flagProblems(err)) problems.add(problem);
  }
  problems.throwIfAny('invalid simulator flags: ');
  return { options, sessions };
}

function flagProblems(err: SimulatorInputError): string[] {
  return err.issues.map((i) => `\`${FLAG_OF[i.field.replace(/\.\d+$/, '')] ?? FLAG_OF[i.field.split('.')[0] ?? ''] ?? i.field}\`: ${i.message}`);
}

function flagsError(err: SimulatorInputError): CliError {
  return usageError(`invalid simulator flags: ${flagProblems(err).join('; ')}`);
}
