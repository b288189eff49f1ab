import { request as httpRequest } from 'node:http';
import { resolveConfig, type Config } from '../../src/config/index.js';
import { createUiServer, type UiServer } from '../../src/ui/index.js';
import { testRedisUrl, track, uniquePrefix } from './context.js';
import { testLogger } from './pipeline.js';

export const UI_USER = 'ops';
export const UI_PASSWORD = 'correct horse battery staple';

export interface UiFixture {
  server: UiServer;
  url: string;
  config: Config;
  prefix: string;
}

/** Starts the UI server on a free port (tracked for the leak check). */
export async function startUi({
  prefix = uniquePrefix('ui'),
  credentials = false,
  host = '127.0.0.1',
  redisUrl = testRedisUrl(),
  heartbeatMaxAgeMs,
}: { prefix?: string; credentials?: boolean; host?: string; redisUrl?: string; heartbeatMaxAgeMs?: number } = {}): Promise<UiFixture> {
  const env: Record<string, string> = { REDIS_URL: redisUrl, BB_REAPER_PREFIX: prefix, BB_REAPER_UI_PORT: '0', BB_REAPER_UI_HOST: host };
  if (credentials) Object.assign(env, { BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD });
  const config = resolveConfig({ env });
  const server = track(createUiServer({ config, logger: testLogger(), ...(heartbeatMaxAgeMs !== undefined ? { heartbeatMaxAgeMs } : {}) }), 'ui server');
  const url = await server.listen();
  return { server, url, config, prefix };
}

export const basicAuth = (user = UI_USER, password = UI_PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = unknown>(): T;
}

/**
 * One HTTP request with exactly the headers given (node:http sends `Host` and nothing else on
 * its own, unlike fetch), so tests can play a browser on another site.
 */
export function send(url: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const h: Record<string, string> = { ...headers };
  if (payload !== undefined) {
    h['content-type'] ??= 'application/json';
    h['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: h, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: data,
          json: <T>() => JSON.parse(data) as T,
        }),
      );
    });
    req.on('error', reject);
    req.end(payload);
  });
}
