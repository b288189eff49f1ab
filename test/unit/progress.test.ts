import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../../src/cli/toolkit/progress.js';

function sink(isTTY = false): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  // cli-progress draws only on a terminal: pose as one, 120 columns wide.
  if (isTTY) Object.assign(w, { isTTY: true, columns: 120 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('createProgressReporter', () => {
  it('draws a bar with the value, total and fields on a TTY, once the work outlasts the delay', async () => {
    const s = sink(true);
    const p = createProgressReporter({ label: 'wait', total: 10, stream: s.stream, barDelayMs: 0 });
    p.update(5, { closed: 4, deadLettered: 1 });
    await until('the bar', () => s.text().includes('5/10'));
    p.stop();
    expect(s.text()).toMatch(/wait \[█+░+\] 50% 5\/10 closed 4, dead lettered 1/);
  });

  it('draws nothing for work that ends before the delay', () => {
    const s = sink(true);
    const p = createProgressReporter({ label: 'enqueue', stream: s.stream, barDelayMs: 60_000 });
    p.update(3);
    p.stop();
    expect(s.text()).toBe('');
  });

  it('writes periodic plain lines when not a TTY, and JSON lines with --json', async () => {
    const plain = sink();
    const p = createProgressReporter({ label: 'sweep', total: 4, stream: plain.stream, tty: false, intervalMs: 10 });
    p.update(2, { accepted: 2 });
    await until('a plain line', () => plain.text().includes('\n'));
    p.stop();
    expect(plain.text().split('\n')[0]).toBe('sweep: 2/4 (accepted 2)');
    const json = sink();
    const j = createProgressReporter({ label: 'wait', total: 3, stream: json.stream, tty: false, json: true, intervalMs: 10 });
    j.update(1, { closed: 1 });
    await until('a JSON line', () => json.text().includes('\n'));
    j.stop();
    expect(JSON.parse(json.text().split('\n')[0] as string)).toMatchObject({ event: 'wait', value: 1, total: 3, closed: 1, at: expect.any(String) });
  });
});
