import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { track } from '../helpers/context.js';

/** The built toolkit module (global-setup builds dist/ when sources are newer). */
const SHUTDOWN = pathToFileURL(new URL('../../dist/src/cli/toolkit/shutdown.js', import.meta.url).pathname).href;

/**
 * A real process that waits in `shutdownOnSignal` with a graceful step and a forced step that
 * each either `resolve` (after 50 ms), `reject` or `hang` (never settle), then prints the exit
 * code it resolved with and sets it.
 */
function startWaiter(setup: { graceful: 'resolve' | 'reject' | 'hang'; force?: 'resolve' | 'hang'; timeoutMs?: number }) {
  const step = (how: string) =>
    how === 'resolve' ? 'new Promise((r) => setTimeout(r, 50))' : how === 'reject' ? 'Promise.reject(new Error("disk on fire"))' : 'new Promise(() => {})';
  const code = `
    import { shutdownOnSignal } from ${JSON.stringify(SHUTDOWN)};
    const line = (level) => (fields, message) => process.stderr.write(level + ' ' + message + ' ' + JSON.stringify(fields) + '\\n');
    const log = { info: line('info'), warn: line('warn'), error: line('error') };
    const alive = setInterval(() => {}, 1000);
    const done = shutdownOnSignal({
      log,
      graceful: () => { process.stderr.write('graceful ran\\n'); return ${step(setup.graceful)}; },
      ${setup.force ? `force: () => { process.stderr.write('force ran\\n'); return ${step(setup.force)}; },` : ''}
      ${setup.timeoutMs !== undefined ? `timeoutMs: ${setup.timeoutMs},` : ''}
    });
    process.stdout.write('ready\\n');
    done.then((c) => { clearInterval(alive); process.stdout.write('resolved ' + c + '\\n'); process.exitCode = c; });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit').then(([c]) => c as number | null);
  const until = async (re: RegExp) => {
    while (!re.test(out)) {
      if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before ${re}: ${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return track(
    {
      output: () => out,
      exited,
      until,
      signal: (s: NodeJS.Signals = 'SIGTERM') => child.kill(s),
      async close() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    },
    'shutdown waiter',
  );
}

describe('two-stage shutdown (toolkit/shutdown.ts) in a real process', () => {
  it('one signal runs the graceful step, logged, and exits 0', async () => {
    const w = startWaiter({ graceful: 'resolve', force: 'resolve', timeoutMs: 10_000 });
    await w.until(/ready/);
    w.signal('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.output()).toMatch(/info shutting down gracefully \(send the signal again to force\) \{"signal":"SIGINT","timeoutMs":10000\}/);
    expect(w.output()).toContain('resolved 0');
    expect(w.output()).not.toContain('force ran');
    await w.close();
  });

  it('a graceful step that fails is logged and exits 1', async () => {
    const w = startWaiter({ graceful: 'reject' });
    await w.until(/ready/);
    w.signal();
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/error shutdown failed \{"err":"disk on fire"\}/);
    await w.close();
  });

  it('the time limit forces: the forced step runs and the exit code is 1', async () => {
    const w = startWaiter({ graceful: 'hang', force: 'resolve', timeoutMs: 100 });
    await w.until(/ready/);
    w.signal();
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/warn graceful shutdown timed out; forcing exit \{"timeoutMs":100\}/);
    expect(w.output()).toContain('force ran');
    expect(w.output()).toContain('resolved 1');
    await w.close();
  });

  it('a second signal forces while the graceful step hangs; without a forced step it exits 1 at once', async () => {
    const w = startWaiter({ graceful: 'hang' });
    await w.until(/ready/);
    w.signal();
    await w.until(/graceful ran/);
    w.signal('SIGINT');
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/warn second signal: forcing exit \{"signal":"SIGINT"\}/);
    expect(w.output()).not.toContain('resolved');
    await w.close();
  });

  it('a forced step that hangs cannot keep the process alive: exit 1 after the grace period', async () => {
    const w = startWaiter({ graceful: 'hang', force: 'hang' });
    await w.until(/ready/);
    w.signal();
    await w.until(/graceful ran/);
    const forcedAt = Date.now();
    w.signal();
    expect(await w.exited).toBe(1);
    expect(w.output()).toContain('force ran');
    expect(Date.now() - forcedAt).toBeGreaterThanOrEqual(1_500);
    await w.close();
  });
});
