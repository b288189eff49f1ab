import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BrowserbaseError } from '../../src/browserbase/index.js';
import { startWorkerService } from '../../src/worker/service.js';
import { track } from '../helpers/context.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';
import { sendJson, startScriptedServer } from './browserbase-scripted-server.js';

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('startWorkerService: the start-up API check', () => {
  it('an API that gives no verdict within the budget (503s) does not keep the worker from starting: it starts with a warning', async () => {
    const pipe = await startPipeline();
    const server = await startScriptedServer((_req, res) => sendJson(res, 503, { statusCode: 503, error: 'Service Unavailable', message: 'down' }));
    const { lines, logger } = capturingLogger();
    const started = Date.now();
    const service = track(
      await startWorkerService({ config: { ...pipe.config, baseUrl: server.url }, logger, ingress: false, sweeps: false, apiCheckBudgetMs: 600 }),
      'worker service',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    const retries = lines.filter((l) => l.msg === 'API check: no verdict yet; retrying');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ code: 'TRANSIENT', httpStatus: 503, attempt: 1 });
    await waitFor('the start-anyway warning', () => lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('API check: no verdict within the budget')), 5_000);
    await service.close();
    await server.close();
    await pipe.close();
  });

  it('a refused check throws REJECTED and starts nothing (no close is sent)', async () => {
    const pipe = await startPipeline();
    const ids = pipe.sim.createSessions(2);
    await pipe.producer.closeSessions(ids);
    const err = await startWorkerService({ config: { ...pipe.config, baseUrl: `${pipe.sim.url}/v1` }, logger: capturingLogger().logger, ingress: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BrowserbaseError);
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 404 });
    expect((err as Error).message).toMatch(/^BROWSERBASE_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/v1 does not answer like the Browserbase API \(GET \/v1\/v1\/sessions\//);
    expect(pipe.sim.stats().closes.calls).toBe(0);
    await pipe.close();
  });

  it('checkApi: false skips the check (no request before the first close)', async () => {
    const pipe = await startPipeline();
    const service = track(await startWorkerService({ config: pipe.config, logger: capturingLogger().logger, ingress: false, sweeps: false, checkApi: false }), 'worker service');
    expect(pipe.sim.stats().requests.total).toBe(0);
    await service.close();
    await pipe.close();
  });
});
