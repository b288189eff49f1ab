import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';

/** Largest request body the simulator reads, in bytes. */
export const MAX_BODY_BYTES = 1_048_576;

/** An answer a handler gives up with: the simulator turns it into the API's error body. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Writes a JSON answer with an explicit content length (keep-alive friendly). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** The API's error body: `{"statusCode": 429, "error": "Too Many Requests", "message": "..."}`. */
export function errorBody(status: number, message: string): { statusCode: number; error: string; message: string } {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
}

export function sendError(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, errorBody(status, message), headers);
}

/**
 * Reads and parses a JSON body. An empty body is `undefined`; bad JSON or a body over
 * {@link MAX_BODY_BYTES} is an `HttpError` (400 / 413).
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Splits `req.url` into its path segments (percent-decoded) and query string. */
export function splitUrl(rawUrl: string): { path: string; segments: string[]; search: string } {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const search = q < 0 ? '' : rawUrl.slice(q + 1);
  const segments = path.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] ?? '';
    if (s.includes('%')) {
      try {
        segments[i] = decodeURIComponent(s);
      } catch {
        throw new HttpError(400, `path segment ${JSON.stringify(s)} is not valid percent-encoding`);
      }
    }
  }
  return { path, segments, search };
}
