import type { SimulatorStats } from '../../src/simulator/index.js';
import type { SimProcess } from './sim-process.js';

/** One look at the simulator during a drain. */
export interface DrainSample {
  /** ms epoch when the stats were read. */
  t: number;
  /** Closes answered 200 on a live session so far. */
  released: number;
  /** `/v1` requests so far (429s included). */
  requests: number;
}

export interface Drain {
  samples: DrainSample[];
  final: SimulatorStats;
}

/**
 * Samples the simulator's counters every `everyMs` until `done(stats)` holds. The simulator runs
 * in another process; one stats read costs it well under a millisecond.
 */
export async function followDrain(sim: SimProcess, done: (s: SimulatorStats) => boolean, { everyMs = 50, timeoutMs = 300_000 } = {}): Promise<Drain> {
  const samples: DrainSample[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await sim.stats();
    samples.push({ t: Date.now(), released: s.closes.released, requests: s.requests.total });
    if (done(s)) return { samples, final: s };
    if (Date.now() > deadline) throw new Error(`drain not done after ${timeoutMs} ms: ${JSON.stringify({ closes: s.closes, requests: s.requests })}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Time (ms epoch) at which `released` first reached `count`, interpolated between samples. */
export function timeAtReleased(samples: DrainSample[], count: number): number {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as DrainSample;
    if (s.released >= count) {
      const prev = samples[i - 1];
      if (!prev || s.released === prev.released) return s.t;
      return prev.t + ((count - prev.released) / (s.released - prev.released)) * (s.t - prev.t);
    }
  }
  return NaN;
}

/** Releases counted at time `t`, interpolated between samples. */
export function releasedAt(samples: DrainSample[], t: number): number {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as DrainSample;
    if (s.t >= t) {
      const prev = samples[i - 1];
      if (!prev) return s.released;
      return prev.released + ((t - prev.t) / (s.t - prev.t)) * (s.released - prev.released);
    }
  }
  return samples[samples.length - 1]?.released ?? 0;
}

/** Time of the first `/v1` request seen (to the sampling resolution). */
export function firstRequestTime(samples: DrainSample[]): number {
  return samples.find((s) => s.requests > 0)?.t ?? NaN;
}

/**
 * Steady rate between the `from` and `to` fractions of `total` releases (closes/s): excludes the
 * start-up and the tail of a drain.
 */
export function steadyRate(samples: DrainSample[], total: number, from = 0.05, to = 0.95): number {
  const a = Math.ceil(total * from);
  const b = Math.floor(total * to);
  return ((b - a) * 1000) / (timeAtReleased(samples, b) - timeAtReleased(samples, a));
}
