/** One `/v1` request as the simulator saw it (admin calls are not logged). */
export interface CallRecord {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** Path and query exactly as received (still percent-encoded), e.g. `/v1/sessions/abc`. */
  path: string;
  /** HTTP status answered; `0` when nothing was answered (reset, hang, client gone). */
  status: number;
  /** Arrival time, ms since the epoch. */
  time: number;
  /** ms from arrival to the answer (or to the socket closing). */
  durationMs: number;
  /** The injected fault, when one was: `reset`, `hang`, `error` (5xx) or `latency`. */
  fault?: 'reset' | 'hang' | 'error' | 'latency';
  /** Parsed JSON body of a POST, when it had one. */
  body?: unknown;
  /** The project of the call's API key, when the key was accepted (never the key itself). */
  project?: string;
}

/** Default number of calls kept. */
export const DEFAULT_CALL_LOG_SIZE = 10_000;

/** A bounded log of the last `size` calls (a ring buffer: O(1) per call). */
export class CallLog {
  private ring: Array<CallRecord | undefined>;
  private next = 0;
  private count = 0;

  constructor(private readonly size: number = DEFAULT_CALL_LOG_SIZE) {
    this.ring = new Array<CallRecord | undefined>(size);
  }

  add(record: CallRecord): void {
    if (this.size === 0) return;
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.size;
    if (this.count < this.size) this.count += 1;
  }

  /** The kept calls, oldest first; with `limit`, only the last `limit`. */
  list(limit = this.count): CallRecord[] {
    const n = Math.max(0, Math.min(limit, this.count));
    const out: CallRecord[] = [];
    for (let i = this.count - n; i < this.count; i++) {
      const rec = this.ring[(this.next - this.count + i + this.size) % this.size];
      if (rec) out.push({ ...rec });
    }
    return out;
  }

  clear(): void {
    this.ring = new Array<CallRecord | undefined>(this.size);
    this.next = 0;
    this.count = 0;
  }
}
