import { UnrecoverableError } from 'bullmq';
import { validateSessionId } from '../browserbase/index.js';
import type { AttemptRecord, CloseJobData } from '../shared/jobs.js';

/**
 * Close jobs may come from other languages' BullMQ clients, so their data is checked before use.
 * Bad data is dead-lettered (never sent to the API) with a reason naming the field.
 */
export class InvalidJobError extends UnrecoverableError {
  readonly code = 'INVALID_JOB';
  constructor(message: string) {
    // The code leads the message: it becomes the job's failedReason, read by the dead-letter move.
    super(`INVALID_JOB: ${message}`);
    this.name = 'InvalidJobError';
  }
}

export function parseCloseJobData(raw: unknown): CloseJobData {
  if (raw === null || typeof raw !== 'object') throw new InvalidJobError(`job data must be an object, got ${raw === null ? 'null' : typeof raw}`);
  const d = raw as Record<string, unknown>;
  const problem = validateSessionId(d.sessionId);
  if (problem !== undefined) throw new InvalidJobError(`invalid \`sessionId\`: ${problem}`);
  for (const f of ['projectId', 'requestId', 'source'] as const) {
    if (d[f] !== undefined && typeof d[f] !== 'string') throw new InvalidJobError(`\`${f}\` must be a string, got ${typeof d[f]}`);
  }
  if (d.history !== undefined && !Array.isArray(d.history)) throw new InvalidJobError('`history` must be an array');
  return {
    ...(d as unknown as CloseJobData),
    enqueuedAt: typeof d.enqueuedAt === 'number' ? d.enqueuedAt : Date.now(),
  };
}

/** Attempts made since the job was (re-)enqueued. */
export function attemptsThisLife(data: CloseJobData): number {
  return (data.history?.length ?? 0) - (data.attemptsOffset ?? 0);
}

export function withAttempt(data: CloseJobData, record: AttemptRecord): CloseJobData {
  return { ...data, history: [...(data.history ?? []), record] };
}
