/** Outcome of taking one token. */
export type TakeResult =
  | { ok: true; remaining: number }
  | { ok: false; remaining: 0; /** ms until one token is available */ waitMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets, one per API key: `rate` tokens per second refill a bucket of `burst` tokens, and
 * every request takes one. A rate of 0 means no limit.
 */
export class TokenBuckets {
  private buckets = new Map<string, Bucket>();
  private rate = 0;
  private burst = 1;

  constructor(
    rate: number,
    burst: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.configure(rate, burst);
  }

  /** Refill rate in tokens per second (0 = unlimited). */
  get ratePerSecond(): number {
    return this.rate;
  }

  /** Bucket size in tokens. */
  get size(): number {
    return this.burst;
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /**
   * Changes rate and burst (default burst: `max(1, rate)`). Buckets keep their tokens, capped at
   * the new size, so a change never hands out a free burst; turning a limit on starts them full.
   */
  configure(rate: number, burst?: number): void {
    const now = this.now();
    // a limit that was off starts with full buckets; otherwise refill at the old rate, then cap
    if (this.rate <= 0) this.buckets.clear();
    for (const b of this.buckets.values()) this.refill(b, now);
    this.rate = rate;
    this.burst = burst ?? Math.max(1, rate);
    for (const b of this.buckets.values()) b.tokens = Math.min(this.burst, b.tokens);
  }

  private refill(b: Bucket, now: number): void {
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.rate) / 1000);
    b.at = now;
  }

  /** Takes one token from the key's bucket. */
  take(key: string): TakeResult {
    if (this.rate <= 0) return { ok: true, remaining: Number.POSITIVE_INFINITY };
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else this.refill(b, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, remaining: 0, waitMs: ((1 - b.tokens) * 1000) / this.rate };
  }

  /** Refills every bucket (they start full again). */
  clear(): void {
    this.buckets.clear();
  }
}
