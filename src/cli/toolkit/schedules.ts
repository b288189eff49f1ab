import { formatDuration } from '../../shared/duration.js';
import { printable } from '../../shared/printable.js';
import type { SweepParams } from '../../sweep/find-orphans.js';
import type { SweepSchedule } from '../../sweep/scheduler.js';
import { formatAge } from './table.js';
import { DEFAULT_ACCOUNT } from '../../shared/names.js';

/** Sweep parameters for humans; a schedule's come from Redis, so the query is made printable. */
export function describeSweepParams(p: SweepParams): string {
  return `older than ${formatDuration(p.olderThanMs)}${p.q ? `, matching ${printable(p.q)}` : ''}${p.includeKeepAlive ? ', keepAlive included' : ', keepAlive skipped'}`;
}

/** Human lines for recurring sweeps (`sweep --list`, `stats`); names and queries are read from Redis, so made printable. */
export function formatSchedules(schedules: SweepSchedule[], now = Date.now()): string {
  return schedules
    .map((s) => `${printable(s.name)}${s.account === DEFAULT_ACCOUNT ? '' : ` (account ${printable(s.account)})`}: every ${formatDuration(s.everyMs)}, ${describeSweepParams(s.params)}${s.next !== undefined ? `, next ${s.next <= now ? 'now' : `in ${formatAge(s.next - now)}`}` : ''}\n`)
    .join('');
}
