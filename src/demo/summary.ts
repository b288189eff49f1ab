import type { DeadLetterSummary } from '../ops/wait-for-closes.js';

/** The demo's fixed settings: chosen so a default run shows retries, 429s and dead letters in seconds. */
export const DEMO_SETTINGS = {
  /** Sessions created and closed by default. */
  sessions: 2000,
  /** The simulator's only API key (never a real one). */
  apiKey: 'demo-key',
  /** Simulator token bucket: requests per second and burst. */
  simulatorRate: 400,
  simulatorBurst: 100,
  /** Workers aim higher than the simulator allows, so 429s and the adaptive rate show. */
  workerRate: 500,
  workerConcurrency: 50,
  workers: 2,
  attempts: 6,
  backoffMs: 200,
  /** Closes enqueued per array. */
  batchSize: 500,
  /** Share of sessions created in another project (the API answers 404: already gone). */
  otherProjectFraction: 0.03,
  /** The 5xx burst starts when this share of closes is done, lasts `burstMs`, fails this share of requests. */
  burstAtFraction: 0.25,
  burstMs: 400,
  burstErrorRate: 0.3,
  /** ...and lasts at least until it failed this many requests (each is retried). */
  burstMinFailures: 3,
} as const;

/** What a demo run reports (`--json` prints it). */
export interface DemoSummary {
  sessions: number;
  malformed: number;
  closed: number;
  alreadyGone: number;
  deadLettered: number;
  /** Closes not final when the run was interrupted. */
  pending: number;
  deadLetters: DeadLetterSummary[];
  /** Retries scheduled by the workers (transient failures). */
  retries: number;
  /**
   * Browser minutes the closes saved at most: each closed session's `expiresAt` minus its close
   * (an upper bound: a session might have ended sooner anyway).
   */
  minutesSaved: number;
  /** 429 answers the simulator sent. */
  http429: number;
  /** 5xx answers the simulator sent (the injected burst). */
  http5xx: number;
  /** Requests the simulator answered. */
  requests: number;
  /** Most requests the simulator saw in any one second. */
  peakRequestsPerSecond: number;
  /** Rate the workers were configured for (req/s). */
  configuredRate: number;
  /** The simulator's limit (req/s). */
  simulatorRate: number;
  /** The shared rate the workers held at the end, after adapting to 429s (req/s). */
  effectiveRate: number;
  /** Seconds from the first enqueue until every close was final. */
  closeSeconds: number;
  /** Seconds of the whole run, start-up included. */
  totalSeconds: number;
  redis: 'embedded' | 'external';
  prefix: string;
  interrupted: boolean;
  uiUrl?: string;
}

const pad = (label: string) => label.padEnd(16);
const round1 = (n: number) => Math.round(n * 10) / 10;

/** The human summary of a demo run. */
export function formatDemoSummary(s: DemoSummary): string {
  const perSecond = s.closeSeconds > 0 ? Math.round((s.closed + s.alreadyGone + s.deadLettered) / s.closeSeconds) : 0;
  const lines = [
    '',
    `bb-reaper demo: ${s.sessions} simulated sessions + ${s.malformed} malformed ids${s.interrupted ? ' (interrupted)' : ''}`,
    `  ${pad('closed')}${s.closed}`,
    `  ${pad('already gone')}${s.alreadyGone}   (sessions of another project: the API answered 404)`,
    `  ${pad('dead-lettered')}${s.deadLettered}   (bb-reaper dlq list; retry from the UI or \`bb-reaper dlq retry\`)`,
    ...s.deadLetters.slice(0, 5).map((d) => `      ${d.errorCode ?? 'FAILED'}: ${d.sessionId ?? d.jobId}: ${d.message}`),
    ...(s.pending > 0 ? [`  ${pad('still pending')}${s.pending}`] : []),
    `  ${pad('retries')}${s.retries}   (${s.http5xx} injected 5xx answers, backoff with jitter)`,
    `  ${pad('saved')}${s.minutesSaved} browser minutes at most   (an upper bound: from each close to the session's expiresAt)`,
    `  ${pad('429s')}${s.http429}   (simulator limit ${s.simulatorRate} req/s; workers asked for ${s.configuredRate}, adapted to ${round1(s.effectiveRate)})`,
    `  ${pad('peak')}${s.peakRequestsPerSecond} requests in one second (${s.requests} requests in all)`,
    `  ${pad('time')}${round1(s.closeSeconds)} s to close (${perSecond} closes/s), ${round1(s.totalSeconds)} s in all`,
    `  ${pad('redis')}${s.redis}, prefix ${s.prefix}`,
  ];
  return `${lines.join('\n')}\n`;
}
