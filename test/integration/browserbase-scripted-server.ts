import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { afterEach } from 'vitest';
import { BrowserbaseError, createBrowserbaseClient, type BrowserbaseClient, type BrowserbaseClientOptions } from '../../src/browserbase/index.js';
import { track } from '../helpers/context.js';

/** One request as the scripted server saw it (raw path, before any decoding). */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: IncomingMessage & { body: string }, res: ServerResponse) => void;

export interface ScriptedServer {
  url: string;
  /** Every request received, in order. */
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Replaces the handler. */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

/**
 * A tiny real HTTP server on port 0 that answers whatever the test scripts: for header forms and
 * failures the simulator does not produce. Registered with `track()` for the leak check.
 */
export async function startScriptedServer(handler: Handler = (_req, res) => sendJson(res, 200, {})): Promise<ScriptedServer> {
  let current = handler;
  let connections = 0;
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      current(Object.assign(req, { body }), res);
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return track(
    {
      url: `http://127.0.0.1:${port}`,
      requests,
      connections: () => connections,
      handle(h: Handler) {
        current = h;
      },
      async close() {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    },
    'scripted HTTP server',
  );
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Browserbase's own 404 body (the documented error shape): the only 404 that means "already gone". */
export function notFoundBody(id = 'a'): Record<string, unknown> {
  return { statusCode: 404, error: 'Not Found', message: `Session ${id} not found` };
}

/** A session object as the real API returns it, with a legacy field the client must tolerate. */
export function fakeSession(id: string, status = 'RUNNING', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id,
    createdAt: now,
    updatedAt: now,
    projectId: 'proj',
    startedAt: now,
    expiresAt: now,
    status,
    proxyBytes: 0,
    keepAlive: false,
    region: 'us-west-2',
    avgCpuUsage: 3,
    ...extra,
  };
}

/** Awaits `p` and returns the `BrowserbaseError` it must reject with. */
export async function caught(p: Promise<unknown>): Promise<BrowserbaseError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BrowserbaseError) return err;
    throw err;
  }
  throw new Error('expected a BrowserbaseError');
}

/**
 * Call at the top of a test file: returns `setup(handler, options, basePath)` that starts a
 * scripted server and a client pointed at it, both closed after each test.
 */
export function useScriptedServers(apiKey: string) {
  const opened: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const r of opened.splice(0).reverse()) await r.close();
  });
  return {
    /** Closes this too after the test. */
    closeLater<T extends { close(): Promise<unknown> }>(r: T): T {
      opened.push(r);
      return r;
    },
    async setup(handler?: Handler, options: Partial<BrowserbaseClientOptions> = {}, basePath = ''): Promise<{ server: ScriptedServer; client: BrowserbaseClient }> {
      const server = await startScriptedServer(handler);
      opened.push(server);
      const client = track(createBrowserbaseClient({ apiKey, baseUrl: server.url + basePath, ...options }), 'browserbase client');
      opened.push(client);
      return { server, client };
    },
  };
}
