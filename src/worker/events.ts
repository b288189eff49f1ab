import { EventEmitter } from 'node:events';
import type { CloseJobResult, DeadLetterData } from '../shared/jobs.js';

/** Typed events of a close worker, for library users. */
export interface WorkerEventMap {
  /** A close finished: the seed's `{id, status}`, the outcome and the job's identity. */
  closed: [CloseJobResult & { sessionId: string; jobId: string; requestId?: string }];
  /** A close failed for good and was moved to the dead-letter queue. */
  'dead-lettered': [DeadLetterData];
  /** A close failed and will be retried after `delayMs`. */
  retrying: [{ sessionId: string; attempt: number; code: string; delayMs: number }];
  /** A 429: every worker pauses `retryAfterMs`; the shared rate is now `effectiveRate`. */
  'rate-limited': [{ retryAfterMs: number; effectiveRate: number }];
}

export class WorkerEvents extends EventEmitter<WorkerEventMap> {}
