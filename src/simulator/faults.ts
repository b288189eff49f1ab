import { z } from 'zod';
import { parseInput } from './validation.js';

/** How the simulator answers a close of a session that is already terminal. */
export const CLOSE_FINISHED_ANSWERS = ['200', '409', '400'] as const;
export type CloseFinishedAnswer = (typeof CLOSE_FINISHED_ANSWERS)[number];

/**
 * Faults the simulator injects into `/v1` requests that passed authentication and the rate limit.
 * A request that gets a fault is not processed: a reset or hung close does not release anything.
 */
export interface Faults {
  /** Probability (0..1) of answering 500, 502 or 503 (picked uniformly) with an error body. Default 0. */
  errorRate: number;
  /** Probability (0..1) of destroying the socket (TCP RST) without answering. Default 0. */
  resetRate: number;
  /** Probability (0..1) of never answering, until the client gives up or the simulator closes. Default 0. */
  hangRate: number;
  /** Uniform delay `[min, max]` in ms before answering (before the other faults). Default `[0, 0]`. */
  latencyMs: [number, number];
  /** Answer to a close of an already-terminal session: 200 with the session, or a 409 / 400 error. Default `'200'`. */
  closeFinished: CloseFinishedAnswer;
}

export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze<Faults>({
  errorRate: 0,
  resetRate: 0,
  hangRate: 0,
  latencyMs: [0, 0],
  closeFinished: '200',
});

/** Upper bound of `latencyMs`, in ms. */
export const MAX_LATENCY_MS = 600_000;

const probability = z
  .number({ error: 'expected a number from 0 to 1' })
  .min(0, { error: 'expected a number from 0 to 1' })
  .max(1, { error: 'expected a number from 0 to 1' });

const latencyMessage = `expected [min, max] with 0 <= min <= max <= ${MAX_LATENCY_MS} (integers, ms)`;
const latencyBound = z
  .number({ error: latencyMessage })
  .int({ error: latencyMessage })
  .min(0, { error: latencyMessage })
  .max(MAX_LATENCY_MS, { error: latencyMessage });

/** Schema of a partial fault configuration (unknown fields are rejected). */
export const faultsSchema = z.strictObject({
  errorRate: probability.optional(),
  resetRate: probability.optional(),
  hangRate: probability.optional(),
  latencyMs: z
    .tuple([latencyBound, latencyBound], { error: latencyMessage })
    .refine(([min, max]) => min <= max, { error: latencyMessage })
    .optional(),
  closeFinished: z.enum(CLOSE_FINISHED_ANSWERS, { error: 'expected "200", "409" or "400"' }).optional(),
});

/** Validates a partial fault configuration; throws `SimulatorInputError` naming each bad field. */
export function validateFaults(input: unknown, what = 'faults'): Partial<Faults> {
  const parsed = parseInput(faultsSchema, input, what);
  const out: Partial<Faults> = {};
  for (const [k, v] of Object.entries(parsed)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** What happens to one request. */
export type FaultDecision = 'reset' | 'hang' | 500 | 502 | 503 | undefined;

const ERROR_STATUSES = [500, 502, 503] as const;

/**
 * Draws the fault of one request. Each kind is checked in turn with its own probability:
 * reset, then hang, then error.
 */
export function drawFault(faults: Faults, random: () => number = Math.random): FaultDecision {
  if (faults.resetRate > 0 && random() < faults.resetRate) return 'reset';
  if (faults.hangRate > 0 && random() < faults.hangRate) return 'hang';
  if (faults.errorRate > 0 && random() < faults.errorRate) {
    return ERROR_STATUSES[Math.min(2, Math.floor(random() * 3))];
  }
  return undefined;
}

/** A delay in ms drawn uniformly from `latencyMs`. */
export function drawLatencyMs(faults: Faults, random: () => number = Math.random): number {
  const [min, max] = faults.latencyMs;
  return max <= 0 ? 0 : min + Math.round(random() * (max - min));
}
