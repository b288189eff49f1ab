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

/**
 * The screen a terminal shows for `output`: CR and ESC[1G go to column 0, ESC[2K clears the line,
 * ESC[0K clears right of the cursor, ESC 7 / ESC 8 save and restore the cursor, LF moves down one
 * line (to column 0: a TTY stream's onlcr). Other escape sequences (hide cursor...) change nothing.
 */
function screenOf(output: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = (): string[] => (rows[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const c = output[i] as string;
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
      line();
    } else if (c === '\x1b') {
      const rest = output.slice(i + 1);
      const csi = /^\[([?\d;]*)([A-Za-z])/.exec(rest);
      if (csi) {
        const [all, arg, op] = csi;
        if (op === 'G') col = Math.max(0, Number(arg || 1) - 1);
        else if (op === 'K' && arg === '2') rows[row] = [];
        else if (op === 'K') line().length = Math.min(line().length, col);
        i += all.length;
      } else if (rest[0] === '7') {
        saved = { row, col };
        i++;
      } else if (rest[0] === '8') {
        ({ row, col } = saved);
        i++;
      }
    } else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  return rows.map((r) => r.join('').trimEnd());
}

describe('createProgressReporter', () => {
  it('a message printed mid-bar gets its own line instead of landing inside the bar line', async () => {
    const s = sink(true);
    const p = createProgressReporter({ label: 'closing', total: 2002, stream: s.stream, barDelayMs: 0 });
    await until('the bar', () => s.text().includes('0/2002'));
    p.log('enqueued 2000 closes in arrays of 500 and 2 malformed ids');
    p.update(1000, { closed: 1000 });
    await until('the bar at 1000', () => s.text().includes('1000/2002'));
    p.log('a second message\x1b[31m');
    p.stop();
    s.stream.write('summary\n');
    const screen = screenOf(s.text());
    expect(screen.filter((l) => l !== '')).toEqual([
      'enqueued 2000 closes in arrays of 500 and 2 malformed ids',
      'a second message\\x1b[31m',
      expect.stringMatching(/^closing \[█+░+\] 49% 1000\/2002 closed 1000$/),
      'summary',
    ]);
  });

  it('a message before the bar or after it, or without a TTY, is one plain line', () => {
    const s = sink(true);
    const p = createProgressReporter({ label: 'closing', stream: s.stream, barDelayMs: 60_000 });
    p.log('before');
    p.stop();
    p.log('after\n');
    const plain = sink();
    const q = createProgressReporter({ label: 'sweep', stream: plain.stream, tty: false });
    q.log('no tty');
    q.stop();
    expect([s.text(), plain.text()]).toEqual(['before\nafter\n', 'no tty\n']);
  });

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
