import { createHash } from 'node:crypto';
import type { RecordingEvent, Session, SessionLiveUrls } from '../browserbase/types.js';

/**
 * The connection details Create (and Get) return. They point at the simulator's host and are
 * placeholders: the simulator runs no browser.
 */
export function buildConnectInfo(session: Session, baseUrl: string): { connectUrl: string; seleniumRemoteUrl: string; signingKey: string } {
  const signingKey = createHash('sha256').update(`sim-signing:${session.id}`).digest('hex');
  const ws = baseUrl.replace(/^http/, 'ws');
  return {
    connectUrl: `${ws}/_sim/connect/${session.id}?signingKey=${signingKey}`,
    seleniumRemoteUrl: `${baseUrl}/_sim/webdriver`,
    signingKey,
  };
}

/**
 * Get Debug URL's answer: one page while the session is active, none after. Every URL is an
 * absolute URI, as the OpenAPI document's `SessionLiveUrls` says (the favicon too).
 */
export function buildDebugUrls(session: Session, baseUrl: string): SessionLiveUrls {
  const host = baseUrl.replace(/^https?:\/\//, '');
  const pageId = createHash('sha1').update(`page:${session.id}`).digest('hex').slice(0, 32).toUpperCase();
  const ws = `${host}/_sim/debug/${session.id}/devtools/page/${pageId}`;
  const inspector = (target: string) => `${baseUrl}/_sim/devtools/inspector.html?wss=${target}`;
  const active = session.status === 'RUNNING' || session.status === 'PENDING';
  return {
    debuggerFullscreenUrl: inspector(ws),
    debuggerUrl: inspector(`${host}/_sim/debug/${session.id}/devtools/browser`),
    wsUrl: `ws://${host}/_sim/debug/${session.id}/devtools/browser`,
    pages: active
      ? [
          {
            id: pageId,
            url: 'about:blank',
            faviconUrl: `${baseUrl}/_sim/favicon.ico`,
            title: 'about:blank',
            debuggerUrl: inspector(ws),
            debuggerFullscreenUrl: inspector(ws),
          },
        ]
      : [],
  };
}

/** Get Session Recording's answer: a tiny rrweb-like stream (meta, full snapshot, one mutation). */
export function buildRecording(session: Session): RecordingEvent[] {
  const t0 = Date.parse(session.startedAt);
  return [
    { type: 4, timestamp: t0, sessionId: session.id, data: { href: 'about:blank', width: 1280, height: 720 } },
    {
      type: 2,
      timestamp: t0 + 1,
      sessionId: session.id,
      data: { node: { type: 0, id: 1, childNodes: [] }, initialOffset: { top: 0, left: 0 } },
    },
    { type: 3, timestamp: t0 + 2, sessionId: session.id, data: { source: 0, texts: [], attributes: [], removes: [], adds: [] } },
  ];
}

/** One entry of Get Session Logs, as the OpenAPI document's `SessionLog`. */
export interface SessionLogEntry {
  method: string;
  pageId: number;
  sessionId: string;
  frameId: string;
  loaderId: string;
  timestamp: number;
  request: { timestamp: number; params: Record<string, unknown>; rawBody: string };
  response: { timestamp: number; result: Record<string, unknown>; rawBody: string };
}

/**
 * Get Session Logs' answer: the CDP calls of the simulated page (open `about:blank`, navigate to
 * it), then `Browser.close` once the session has ended. Timestamps are epoch ms.
 */
export function buildSessionLogs(session: Session): SessionLogEntry[] {
  const t0 = Date.parse(session.startedAt);
  const frameId = createHash('sha1').update(`frame:${session.id}`).digest('hex').slice(0, 32).toUpperCase();
  const loaderId = createHash('sha1').update(`loader:${session.id}`).digest('hex').slice(0, 32).toUpperCase();
  const entry = (method: string, at: number, params: Record<string, unknown>, result: Record<string, unknown>): SessionLogEntry => ({
    method,
    pageId: 0,
    sessionId: session.id,
    frameId,
    loaderId,
    timestamp: at,
    request: { timestamp: at, params, rawBody: JSON.stringify({ method, params }) },
    response: { timestamp: at + 1, result, rawBody: JSON.stringify({ result }) },
  });
  const logs = [
    entry('Target.createTarget', t0, { url: 'about:blank' }, { targetId: frameId }),
    entry('Page.navigate', t0 + 2, { url: 'about:blank' }, { frameId, loaderId }),
  ];
  if (session.endedAt !== undefined) logs.push(entry('Browser.close', Date.parse(session.endedAt), {}, {}));
  return logs;
}
