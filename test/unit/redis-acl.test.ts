import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACL_COMMAND_LIST, ACL_OPTIONAL_COMMANDS, aclRules } from '../../src/shared/redis-acl.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

/** Every command a Lua source calls by name: `redis.call('X'`, `redis.pcall("X"`, BullMQ's `rcall("X"`. */
function commandsCalled(lua: string): Set<string> {
  const out = new Set<string>();
  for (const m of lua.matchAll(/\b(?:rcall|redis\.p?call)\(\s*\\?["']([A-Za-z]+)\\?["']/g)) out.add((m[1] as string).toLowerCase());
  // BullMQ picks a few by variable: LPUSH/RPUSH (lifo), HLEN/SCARD counts, HSCAN/SSCAN pages.
  for (const m of lua.matchAll(/=\s*[^\n]*?\\?["'](RPUSH|LPUSH|HLEN|SCARD|HSCAN|SSCAN)\\?["']/g)) out.add((m[1] as string).toLowerCase());
  return out;
}

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => join(dir, f));
}

describe("bb-reaper's ACL rule", () => {
  const granted = new Set(ACL_COMMAND_LIST);

  it.each([
    ['BullMQ', filesUnder('node_modules/bullmq/dist/esm/scripts', '.js')],
    ['bb-reaper', filesUnder('src', '.ts')],
  ])("grants every command %s's Lua scripts call (an upgrade that calls a new one fails here)", (_who, files) => {
    const called = new Set<string>();
    for (const f of files) for (const c of commandsCalled(read(f))) called.add(c);
    expect(called.size).toBeGreaterThan(3);
    expect([...called].filter((c) => !granted.has(c)).sort()).toEqual([]);
  });

  it("limits the user to the key prefix (each account tag on a cluster) and no channel, with no dangerous command", () => {
    const rules = aclRules({ prefix: 'bb-reaper' });
    expect(rules.slice(0, 4)).toEqual(['resetkeys', '~bb-reaper:*', 'resetchannels', '-@all']);
    expect(aclRules({ prefix: 'bb-reaper', redisCluster: true }).slice(0, 4)).toEqual(['resetkeys', '~{bb-reaper}:*', '~{bb-reaper@*}:*', 'resetchannels']);
    for (const c of ['subscribe', 'publish', 'psubscribe']) expect(granted.has(c), c).toBe(false);
    for (const c of ['keys', 'flushall', 'flushdb', 'config', 'debug', 'shutdown', 'acl', 'client|kill', 'script|flush', 'monitor']) expect(granted.has(c), c).toBe(false);
    for (const c of ACL_OPTIONAL_COMMANDS) expect(granted.has(c), c).toBe(false);
  });
});

describe('the README', () => {
  it('quotes the ACL rule exactly as aclRules makes it', () => {
    expect(read('README.md')).toContain(`ACL SETUSER bb-reaper on >PASSWORD ${aclRules({ prefix: 'bb-reaper' }).join(' ')}\n`);
  });
});
