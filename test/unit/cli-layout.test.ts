import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../src/cli');

describe('CLI layout', () => {
  it('no command file imports another command file: what they share lives in cli/toolkit/', () => {
    const commands = readdirSync(CLI).filter((f) => f.endsWith('.ts'));
    expect(commands).toContain('close.ts');
    const offending: string[] = [];
    for (const file of commands) {
      const text = readFileSync(join(CLI, file), 'utf8');
      for (const m of text.matchAll(/from '\.\/([^']+)'/g)) {
        if (!m[1]!.startsWith('toolkit/')) offending.push(`${file} imports ./${m[1]}`);
      }
    }
    // main.ts loads each command with a dynamic import(), which is how commands are registered.
    expect(offending).toEqual([]);
  });
});
