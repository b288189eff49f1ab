import { AuthenticationError, Browserbase, NotFoundError, RateLimitError } from '@browserbasehq/sdk';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';

describe('simulator: the official SDK runs unmodified against it', () => {
  it('creates, retrieves, releases, lists, debugs and fetches a recording', async () => {
    const sim = track(await startSimulator({ releaseDelayMs: 60_000, concurrencyLimit: 1 }), 'simulator');
    const bb = new Browserbase({ apiKey: 'sim-key', baseURL: sim.url, maxRetries: 0 });

    const created = await bb.sessions.create({ userMetadata: { suite: 'sdk' }, api_timeout: 300, keepAlive: true });
    expect(created).toMatchObject({ status: 'RUNNING', keepAlive: true, userMetadata: { suite: 'sdk' }, projectId: 'sim-project' });
    expect(created.connectUrl).toEqual(expect.any(String));
    expect(Date.parse(created.expiresAt) - Date.parse(created.startedAt)).toBe(300_000);

    const got = await bb.sessions.retrieve(created.id);
    expect(got.id).toBe(created.id);

    const released = await bb.sessions.update(created.id, { status: 'REQUEST_RELEASE' });
    expect(released).toMatchObject({ id: created.id, status: 'RUNNING' });
    expect(sim.stats().closes.released).toBe(1);

    const running = await bb.sessions.list({ status: 'RUNNING' });
    expect(running.map((s) => s.id)).toEqual([created.id]);
    expect(await bb.sessions.list({ q: "user_metadata['suite']:'other'" })).toEqual([]);

    const debug = await bb.sessions.debug(created.id);
    expect(debug.pages[0]?.debuggerFullscreenUrl).toEqual(expect.any(String));
    const recording = await bb.sessions.recording.retrieve(created.id);
    expect(recording[0]).toMatchObject({ sessionId: created.id, type: expect.any(Number) });

    // the SDK's error classes map from the simulator's statuses
    await expect(bb.sessions.create()).rejects.toBeInstanceOf(RateLimitError);
    await expect(bb.sessions.retrieve('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    const stranger = new Browserbase({ apiKey: 'not-a-key', baseURL: sim.url, maxRetries: 0 });
    await expect(stranger.sessions.list()).rejects.toBeInstanceOf(AuthenticationError);

    const paths = sim.calls().map((c) => `${c.method} ${c.path.split('?')[0]} ${c.status}`);
    expect(paths.slice(0, 3)).toEqual(['POST /v1/sessions 201', `GET /v1/sessions/${created.id} 200`, `POST /v1/sessions/${created.id} 200`]);
    expect(sim.calls()[2]?.body).toEqual({ status: 'REQUEST_RELEASE' });
    await sim.close();
  });
});
