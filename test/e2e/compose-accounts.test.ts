// The two-account docker compose example (docker-compose.accounts.yml, deploy/accounts.example.yml,
// .env.example): rendered by `docker-compose config`, then run as compose would run it — the
// worker's rendered environment, its accounts file from the mounted path and prod's key from the
// mounted Docker secret — against the simulator. Both accounts are served with their own keys,
// the ui's rendered environment lists both accounts without holding any key.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';
import { testRedisUrl, uniquePrefix } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PROD_KEY = 'compose-prod-key-7f3a91';
const STAGING_KEY = 'compose-staging-key-2b8c44';

interface Rendered {
  services: Record<string, { environment?: Record<string, string>; volumes?: Array<string | { source: string; target: string }>; secrets?: Array<string | { source: string }> }>;
  secrets?: Record<string, { file: string }>;
}

function composeCommand(): string[] {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  throw new Error('neither `docker-compose` nor `docker compose` is installed: `apt-get install docker-compose` (.ci/run installs it)');
}

let dir: string;
let rendered: Rendered;
let sim: SimulatorHandle;

beforeAll(async () => {
  // A project directory as a user would set it up, following the comments of docker-compose.accounts.yml.
  dir = mkdtempSync(join(tmpdir(), 'bbr-compose-accounts-'));
  for (const f of ['docker-compose.yml', 'docker-compose.accounts.yml']) copyFileSync(join(root, f), join(dir, f));
  mkdirSync(join(dir, 'deploy', 'secrets'), { recursive: true });
  copyFileSync(join(root, 'deploy', 'accounts.example.yml'), join(dir, 'deploy', 'accounts.yml'));
  writeFileSync(join(dir, 'deploy', 'secrets', 'bb_key_prod'), PROD_KEY);
  const env = readFileSync(join(root, '.env.example'), 'utf8').replace(/^# BB_KEY_STAGING=$/m, `BB_KEY_STAGING=${STAGING_KEY}`).replace(/^BB_REAPER_UI_PASSWORD=$/m, 'BB_REAPER_UI_PASSWORD=compose-ui-password');
  expect(env).toContain(`BB_KEY_STAGING=${STAGING_KEY}`);
  writeFileSync(join(dir, '.env'), env);
  const [bin, ...pre] = composeCommand() as [string, ...string[]];
  const r = spawnSync(bin, [...pre, '-f', 'docker-compose.yml', '-f', 'docker-compose.accounts.yml', 'config'], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  rendered = parse(r.stdout) as Rendered;
  sim = await startSimulator({ apiKeys: [PROD_KEY], projectId: 'proj-prod', projects: { 'proj-staging': [STAGING_KEY] }, releaseDelayMs: 0 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Where a service's volume with this container path comes from on the host. */
function mountSource(service: string, target: string): string {
  for (const v of rendered.services[service]?.volumes ?? []) {
    if (typeof v === 'string') {
      const [src, dst] = v.split(':');
      if (dst === target) return src as string;
    } else if (v.target === target) return v.source;
  }
  throw new Error(`${service} mounts nothing at ${target}`);
}

/**
 * The accounts file as the container sees it: the mounted file, with `/run/secrets/<name>` (where
 * compose mounts each secret) pointing at that secret's host file.
 */
function containerAccountsFile(service: string): string {
  const target = rendered.services[service]?.environment?.BB_REAPER_ACCOUNTS as string;
  let text = readFileSync(mountSource(service, target), 'utf8');
  for (const s of rendered.services[service]?.secrets ?? []) {
    const name = typeof s === 'string' ? s : s.source;
    text = text.replaceAll(`/run/secrets/${name}`, rendered.secrets?.[name]?.file as string);
  }
  const file = join(dir, `${service}-accounts.yml`);
  writeFileSync(file, text);
  return file;
}

/** A service's rendered environment, run here: Redis and the API are the test's. */
function containerEnv(service: string, prefix: string): Record<string, string> {
  const env = { ...(rendered.services[service]?.environment ?? {}) };
  return { ...env, BB_REAPER_ACCOUNTS: containerAccountsFile(service), REDIS_URL: testRedisUrl(), BROWSERBASE_BASE_URL: sim.url, BB_REAPER_PREFIX: prefix, LOG_LEVEL: 'info' };
}

describe('docker compose with two accounts (docker-compose.accounts.yml)', () => {
  it('gives the worker the accounts file, prod\'s Docker secret and staging\'s variable; the ui the file only, no key', () => {
    const worker = rendered.services.worker;
    const ui = rendered.services.ui;
    expect(worker?.environment?.BB_REAPER_ACCOUNTS).toBe('/etc/bb-reaper/accounts.yml');
    expect(worker?.environment?.BB_KEY_STAGING).toBe(STAGING_KEY);
    expect((worker?.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source))).toEqual(['bb_key_prod']);
    expect(rendered.secrets?.bb_key_prod?.file).toBe(join(dir, 'deploy', 'secrets', 'bb_key_prod'));
    expect(mountSource('worker', '/etc/bb-reaper/accounts.yml')).toBe(join(dir, 'deploy', 'accounts.yml'));
    expect(ui?.environment?.BB_REAPER_ACCOUNTS).toBe('/etc/bb-reaper/accounts.yml');
    expect(ui?.secrets).toBeUndefined();
    expect(JSON.stringify(ui)).not.toContain(STAGING_KEY);
    expect(JSON.stringify(rendered)).not.toContain(PROD_KEY);
    // The example keeps keys out of git and out of the image.
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['deploy/accounts.yml', 'deploy/secrets/']));
    expect(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')).toContain('deploy/secrets');
  });

  it('runs as rendered: the worker serves prod (secret) and staging (variable), each with its own key; the ui\'s settings list both accounts', async () => {
    const prefix = uniquePrefix('compose-accounts');
    const env = containerEnv('worker', prefix);
    const prodIds = sim.createSessions(3, { projectId: 'proj-prod' });
    const stagingIds = sim.createSessions(3, { projectId: 'proj-staging' });
    const worker = spawnCli(['worker', '--no-ingress', '--no-sweeps'], { env });
    try {
      await worker.waitForOutput(/serving 2 account\(s\): prod, staging/);
      const prod = await runCli(['close', ...prodIds, '--account', 'prod', '--wait', '--json'], { env });
      expect(prod.code, prod.stderr).toBe(0);
      const staging = await runCli(['close', ...stagingIds, '--account', 'staging', '--wait', '--json'], { env });
      expect(staging.code, staging.stderr).toBe(0);
      await waitFor('every session of both accounts released', () => [...prodIds, ...stagingIds].every((id) => sim.getSession(id)?.status === 'COMPLETED'));
      // A foreign key sees another project's session as 404: none was sent with the wrong key.
      expect(sim.calls().filter((c) => c.method === 'POST' && c.status === 404)).toEqual([]);
      expect(sim.calls().filter((c) => c.method === 'POST' && c.status === 200 && c.project === 'proj-staging').length).toBeGreaterThanOrEqual(3);

      // The ui container's environment: the account names, never a key (its config needs none).
      const stats = await runCli(['stats', '--json'], { env: containerEnv('ui', prefix) });
      expect(stats.code, stats.stderr).toBe(0);
      const snapshot = JSON.parse(stats.stdout) as { accounts: Array<{ name: string; configured: boolean; workers: number; queue: { completed: number } }> };
      expect(snapshot.accounts.filter((a) => a.configured).map((a) => a.name)).toEqual(['prod', 'staging']);
      for (const name of ['prod', 'staging']) expect(snapshot.accounts.find((a) => a.name === name)).toMatchObject({ workers: 1, queue: { completed: 3 } });
      for (const out of [worker.stdout(), worker.stderr(), prod.stdout, staging.stdout, stats.stdout]) {
        expect(out).not.toContain(PROD_KEY);
        expect(out).not.toContain(STAGING_KEY);
      }
    } finally {
      worker.kill('SIGTERM');
      expect((await worker.exited).code, worker.stderr()).toBe(0);
      await worker.close();
    }
  });
});
