import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLAN_PRESETS, resolveConfig, SETTINGS } from '../../src/config/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Rows of the README's configuration table: variable, flag, meaning, default. */
function configRows(): Map<string, { flag: string; def: string }> {
  const section = readme.split('## Configuration')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, { flag: string; def: string }>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const v = /^`([A-Z_]+)`$/.exec(cells[1] ?? '');
    if (v?.[1]) rows.set(v[1], { flag: (cells[2] ?? '').replace(/`/g, ''), def: (cells[4] ?? '').replace(/`/g, '') });
  }
  return rows;
}

describe('README configuration table', () => {
  it('lists exactly the settings of the schema, with their flags', () => {
    const rows = configRows();
    expect([...rows.keys()].sort()).toEqual(Object.values(SETTINGS).map((s) => s.env).sort());
    for (const s of Object.values(SETTINGS)) expect(rows.get(s.env)?.flag, s.env).toBe(s.flag);
  });

  it('states the schema defaults', () => {
    const rows = configRows();
    const defaults = resolveConfig({ env: {} });
    for (const [name, s] of Object.entries(SETTINGS)) {
      const value = defaults[name as keyof typeof defaults];
      if (value === undefined || name === 'rate' || name === 'concurrency') continue;
      expect(rows.get(s.env)?.def, s.env).toBe(String(value));
    }
  });

  it('states the plan presets', () => {
    for (const [plan, p] of Object.entries(PLAN_PRESETS)) {
      expect(readme).toMatch(new RegExp(`\\| \`${plan}\` \\| ${p.rate} \\| ${p.concurrency} \\|`));
    }
  });
});
