/**
 * Child process of the `sdk` benchmark: the obvious alternative to bb-reaper — the official
 * `@browserbasehq/sdk` (default retries) in a `p-limit` loop. It runs in its own process and
 * imports nothing from bb-reaper: on Node 20, loading undici 7 (which bb-reaper's client uses)
 * installs undici 7 as the global fetch dispatcher, and the SDK's POSTs then fail before leaving
 * the process (`invalid content-length header`).
 * Usage: node sdk-client.js <baseUrl> <apiKey> <idsFile> <concurrency>; prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { Browserbase } from '@browserbasehq/sdk';
import pLimit from 'p-limit';

const [baseURL, apiKey, idsFile, concurrency] = process.argv.slice(2);
if (!baseURL || !apiKey || !idsFile || !concurrency) throw new Error('usage: sdk-client <baseUrl> <apiKey> <idsFile> <concurrency>');
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
const bb = new Browserbase({ apiKey, baseURL }); // defaults: maxRetries 2, timeout 60 s
const limit = pLimit(Number(concurrency));
const t0 = performance.now();
const settled = await Promise.allSettled(ids.map((id) => limit(() => bb.sessions.update(id, { status: 'REQUEST_RELEASE' }))));
const wallMs = performance.now() - t0;
const errors: Record<string, number> = {};
for (const r of settled) {
  if (r.status === 'rejected') {
    const name = (r.reason as Error).constructor.name;
    errors[name] = (errors[name] ?? 0) + 1;
  }
}
process.stdout.write(`${JSON.stringify({ wallMs, fulfilled: settled.filter((r) => r.status === 'fulfilled').length, errors })}\n`);
