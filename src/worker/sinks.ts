import type { CloseOutcome } from '../browserbase/index.js';

/**
 * What the worker records for `/metrics` (implemented by `src/metrics`). `apiResponse` is fed by
 * the client's `onResponse` hook (one call per HTTP request), not by the processor.
 */
export interface MetricsSink {
  closeOutcome(outcome: CloseOutcome | 'dead_lettered'): void;
  apiResponse(status: number | 'error', durationMs: number): void;
  retry(code: string): void;
  rateLimited(retryAfterMs?: number): void;
}

/** One final outcome, as appended to the results stream (implemented by `src/results`). */
export interface ResultEntry {
  jobId: string;
  /** BullMQ job creation time: with `jobId`, identifies one life of a job (dedupe key). */
  jobTimestamp: number;
  sessionId: string;
  requestId?: string;
  outcome: CloseOutcome | 'dead_lettered';
  status?: string;
  httpStatus?: number;
  errorCode?: string;
  attempts: number;
  finishedAt: number;
}

export interface ResultsSink {
  append(entry: ResultEntry): Promise<unknown>;
}
