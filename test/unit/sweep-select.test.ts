import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/browserbase/index.js';
import { selectOrphans, sessionStartMs } from '../../src/sweep/find-orphans.js';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');

function session(id: string, agoSeconds: number, extra: Partial<Session> = {}): Session {
  const started = new Date(NOW - agoSeconds * 1000).toISOString();
  return {
    id, createdAt: started, updatedAt: started, projectId: 'p', startedAt: started, expiresAt: started,
    status: 'RUNNING', proxyBytes: 0, keepAlive: false, region: 'us-west-2', ...extra,
  };
}

describe('selectOrphans', () => {
  it('selects active sessions at least as old as the threshold, oldest first', () => {
    const r = selectOrphans([session('young', 599), session('edge', 600), session('old', 3600), session('pending', 900, { status: 'PENDING' })], { olderThanMs: 600_000 }, NOW);
    expect(r.orphans.map((o) => o.id)).toEqual(['old', 'pending', 'edge']);
    expect(r).toMatchObject({ scanned: 4, skippedYoung: 1, skippedKeepAlive: 0, skippedUnknownAge: 0 });
    expect(r.orphans[0]).toMatchObject({ ageMs: 3_600_000, status: 'RUNNING', keepAlive: false, region: 'us-west-2' });
  });

  it('skips keepAlive sessions unless asked to include them', () => {
    const list = [session('kept', 7200, { keepAlive: true }), session('plain', 7200)];
    expect(selectOrphans(list, { olderThanMs: 60_000 }, NOW)).toMatchObject({ orphans: [expect.objectContaining({ id: 'plain' })], skippedKeepAlive: 1 });
    expect(selectOrphans(list, { olderThanMs: 60_000, includeKeepAlive: true }, NOW).orphans.map((o) => o.id).sort()).toEqual(['kept', 'plain']);
  });

  it('never selects terminal sessions or sessions without a readable start time', () => {
    const r = selectOrphans(
      [session('done', 9000, { status: 'COMPLETED' }), session('timed', 9000, { status: 'TIMED_OUT' }), session('garbled', 9000, { startedAt: 'yesterday', createdAt: 'n/a' })],
      { olderThanMs: 1000 },
      NOW,
    );
    expect(r.orphans).toEqual([]);
    expect(r.skippedUnknownAge).toBe(1);
  });

  it('falls back to createdAt when startedAt is unreadable, and keeps user metadata', () => {
    const s = session('meta', 5000, { startedAt: '', userMetadata: { owner: 'ci' } });
    expect(sessionStartMs(s)).toBe(NOW - 5_000_000);
    expect(selectOrphans([s], { olderThanMs: 1000 }, NOW).orphans[0]?.userMetadata).toEqual({ owner: 'ci' });
  });
});
