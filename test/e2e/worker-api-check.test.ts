import { once } from 'node:events';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { getQueueStats } from '../../src/shared/queues.js';
import { spawnCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';
import { freePort } from '../helpers/redis-server.js';
import { SIM_KEY, startPipeline, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

// `bb-reaper worker` checks once at start that BROWSERBASE_BASE_URL answers like the Browserbase
// API for the key. Before, a wrong base URL started a worker that reported every close as
// "already gone" (every answer was a 404) while the sessions kept running.

const workerEnv = (p: PipelineFixture, over: Record<string, string>) => ({
  REDIS_URL: p.config.redisUrl,
  BB_REAPER_PREFIX: p.prefix,
  BROWSERBASE_API_KEY: SIM_KEY,
  BROWSERBASE_BASE_URL: p.sim.url,
  LOG_LEVEL: 'info',
  ...over,
});

/** Runs a worker that must refuse to start; returns its one stderr line. */
async function refusedLine(p: PipelineFixture, over: Record<string, string>): Promise<string> {
  const w = spawnCli(['worker', '--no-ingress'], { env: workerEnv(p, over) });
  const { code } = await w.exited;
  await w.close();
  expect(code, w.stderr()).toBe(1);
  expect(w.stdout()).toBe('');
  const lines = w.stderr().split('\n').filter((l) => l !== '');
  expect(lines, w.stderr()).toHaveLength(1);
  return lines[0]!;
}

describe('bb-reaper worker: the start-up API check', () => {
  it('a wrong BROWSERBASE_BASE_URL path makes the worker exit 1 with one line, and nothing is closed as already gone', async () => {
    const p = await startPipeline();
    const ids = p.sim.createSessions(3);
    await p.producer.closeSessions(ids);
    const line = await refusedLine(p, { BROWSERBASE_BASE_URL: `${p.sim.url}/api` });
    expect(line).toMatch(
      /^bb-reaper: worker not started: BROWSERBASE_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/api does not answer like the Browserbase API \(GET \/api\/v1\/sessions\/[0-9a-f-]{36} got 404 "Route GET:\/api\/v1\/sessions\/[0-9a-f-]{36} not found", no such route; expected Browserbase's 404 for an unknown session\)$/,
    );
    const s = await getQueueStats(p.producer.queues);
    expect(s.waiting).toBe(3);
    expect(s.completed).toBe(0);
    expect(ids.every((id) => p.sim.getSession(id)?.status === 'RUNNING')).toBe(true);
    await p.close();
  });

  it('a refused API key makes the worker exit 1 with one line naming the setting, never the key', async () => {
    const p = await startPipeline();
    const key = 'bb_live_refused-key-7c2e9f';
    const line = await refusedLine(p, { BROWSERBASE_API_KEY: key });
    expect(line).toBe(`bb-reaper: worker not started: the API key (BROWSERBASE_API_KEY or --api-key) was refused by ${p.sim.url} (401 Unauthorized: "Invalid X-BB-API-Key")`);
    expect(line).not.toContain('refused-key-7c2e9f');
    await p.close();
  });

  it('a proxy answering 404 text/html makes the worker exit 1 with one line showing what came back', async () => {
    const p = await startPipeline();
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body><h1>404 Not Found</h1></body></html>');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = track({ close: () => new Promise<void>((r) => server.close(() => r())) }, 'proxy stand-in');
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const line = await refusedLine(p, { BROWSERBASE_BASE_URL: url });
    expect(line).toMatch(
      new RegExp(
        `^bb-reaper: worker not started: BROWSERBASE_BASE_URL=${url.replace(/\./g, '\\.')} does not answer like the Browserbase API \\(GET /v1/sessions/[0-9a-f-]{36} got 404 text/html "<html><body><h1>404 Not Found</h1></body></html>", not Browserbase's JSON error body\\)$`,
      ),
    );
    server.closeAllConnections();
    await proxy.close();
    await p.close();
  });

  it('a refused check exits 1 at once even while Redis is unreachable (it runs before any Redis connection)', async () => {
    const p = await startPipeline();
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const line = await refusedLine(p, { REDIS_URL: deadRedis, BROWSERBASE_BASE_URL: `${p.sim.url}/api` });
    expect(line).toMatch(/^bb-reaper: worker not started: BROWSERBASE_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/api does not answer like the Browserbase API/);
    await p.close();
  });

  it('5xx answers at start are retried with backoff and logged, then the worker starts and closes', async () => {
    const p = await startPipeline({ sim: { faults: { errorRate: 1 } } });
    const ids = p.sim.createSessions(5);
    await p.producer.closeSessions(ids);
    const w = spawnCli(['worker', '--no-ingress'], { env: workerEnv(p, { LOG_LEVEL: 'warn' }) });
    await w.waitForOutput(/API check: no verdict yet; retrying/);
    p.sim.setFaults({ errorRate: 0 });
    await waitFor('every session closed', () => ids.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 30_000);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    expect(w.stderr()).not.toMatch(/worker not started/);
    await w.close();
    await p.close();
  });
});
