import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const index = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url));

// Regression: importing undici's index installed undici 7 as the global dispatcher of Node's own
// fetch; on Node 20 every POST with a content-length header then failed ("invalid content-length
// header"), so the official SDK broke in any process that imported bb-reaper. Runs in a plain
// Node process (vitest's module loading hid it).
describe('bb-reaper leaves Node\'s global fetch alone', () => {
  it('the official SDK still creates and releases sessions in a process that imported bb-reaper', async () => {
    const script = `
      const bbr = await import(${JSON.stringify(index)});
      const sim = await bbr.startSimulator({ apiKeys: ['k'] });
      const client = bbr.createBrowserbaseClient({ apiKey: 'k', baseUrl: sim.url });
      const { default: Browserbase } = await import('@browserbasehq/sdk');
      const sdk = new Browserbase({ apiKey: 'k', baseURL: sim.url, maxRetries: 0 });
      const s = await sdk.sessions.create({});
      const closed = await client.closeSession(s.id);
      const again = await sdk.sessions.update(s.id, { status: 'REQUEST_RELEASE' });
      const res = await fetch(sim.url + '/v1/sessions', { method: 'POST', headers: { 'x-bb-api-key': 'k', 'content-type': 'application/json', 'content-length': '2' }, body: '{}' });
      console.log(JSON.stringify({ created: s.status, closed: closed.outcome, updated: again.id === s.id, fetch: res.status }));
      await client.close();
      await sim.close();
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 30_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ created: 'RUNNING', closed: 'closed', updated: true, fetch: 201 });
  });
});
