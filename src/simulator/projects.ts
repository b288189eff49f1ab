import type { Project, ProjectUsage, Session } from '../browserbase/types.js';
import type { SimulatorState } from './state.js';

export type { Project, ProjectUsage };

/** Seconds a session runs before `expiresAt` when Create gives no `timeout`: the project's `defaultTimeout`. */
export const DEFAULT_SESSION_TIMEOUT_SECONDS = 3600;

/**
 * A project of the simulator (each key belongs to one). Its `concurrency` is the simulator's
 * `concurrencyLimit` (a limit of 0, which makes every Create a 429, reads as 1: the document's
 * minimum).
 */
export function describeProject(state: SimulatorState, projectId: string): Project {
  const created = new Date(state.startedAtMs).toISOString();
  return {
    id: projectId,
    createdAt: created,
    updatedAt: created,
    name: `Simulated project ${projectId}`,
    ownerId: 'sim-owner',
    defaultTimeout: DEFAULT_SESSION_TIMEOUT_SECONDS,
    concurrency: Math.max(1, state.options.concurrencyLimit),
  };
}

/** Minutes one session is billed: its run time (start to end, or to `now` while it runs), rounded up, at least 1. */
export function billedMinutes(session: Session, now: number): number {
  const started = Date.parse(session.startedAt);
  const ended = session.endedAt === undefined ? now : Date.parse(session.endedAt);
  const ms = Math.max(0, ended - started);
  return Math.max(1, Math.ceil(ms / 60_000));
}

/** Usage of a project: every session it ever ran (in this simulator's life), billed per session. */
export function measureUsage(state: SimulatorState, projectId: string, now = Date.now()): ProjectUsage {
  let browserMinutes = 0;
  let proxyBytes = 0;
  for (const s of state.store.list(projectId)) {
    browserMinutes += billedMinutes(s, now);
    proxyBytes += s.proxyBytes;
  }
  return { browserMinutes, proxyBytes };
}
