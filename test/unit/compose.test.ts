import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SETTINGS } from '../../src/config/schema.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../src/cli/worker.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const composeText = read('docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  profiles?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  container_name?: string;
  stop_grace_period?: string;
  volumes?: string[];
}
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const settingNames = new Set<string>(Object.values(SETTINGS).map((s) => s.env));
const secretNames = Object.values(SETTINGS).filter((s) => s.secret).map((s) => s.env);

function seconds(d: string | undefined): number {
  const m = /^(\d+)s$/.exec(d ?? '');
  return m ? Number(m[1]) : Number.NaN;
}

describe('docker-compose.yml', () => {
  it('has Redis with append-only persistence, noeviction, a data volume and a health check', () => {
    const redis = services.redis as Service;
    const args = (redis.command ?? []).join(' ');
    expect(args).toMatch(/--appendonly yes/);
    expect(args).toMatch(/--maxmemory-policy noeviction/);
    expect(redis.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('has a scalable worker: no fixed name or port, secrets from .env, waits for a healthy Redis, time to shut down gracefully', () => {
    const worker = services.worker as Service;
    expect(worker.command).toEqual(['worker']);
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.env_file).toBe('.env');
    expect(worker.depends_on?.redis?.condition).toBe('service_healthy');
    expect(worker.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(seconds(worker.stop_grace_period) * 1000).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_MS);
    expect(worker.healthcheck?.test).toEqual(['CMD', 'node', 'dist/src/cli/main.js', 'stats', '--healthcheck']);
  });

  it('has the UI on loopback only, listening on all interfaces inside its container, with a health check on /healthz', () => {
    const ui = services.ui as Service;
    expect(ui.command).toEqual(['ui']);
    expect(ui.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(ui.environment).toMatchObject({ BB_REAPER_UI_HOST: '0.0.0.0', BB_REAPER_UI_PORT: '3000' });
    expect(ui.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:3000/healthz');
  });

  it('has the simulator under the `sim` profile, on the port .env.example points the workers at', () => {
    const sim = services.simulator as Service;
    expect(sim.profiles).toEqual(['sim']);
    const cmd = sim.command ?? [];
    expect(cmd[0]).toBe('simulator');
    const port = cmd[cmd.indexOf('--port') + 1];
    const key = cmd[cmd.indexOf('--api-key') + 1];
    expect(read('.env.example')).toContain(`# BROWSERBASE_BASE_URL=http://simulator:${port}`);
    expect(read('.env.example')).toContain(`# BROWSERBASE_API_KEY=${key}`);
    expect(sim.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/_sim/stats`);
  });

  it('gives every service a health check, and every app service the same image', () => {
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck, name).toBeDefined();
    for (const name of ['worker', 'ui', 'simulator']) expect(services[name]?.image, name).toBe('bb-reaper:local');
  });

  it('uses only variables of the configuration schema, and puts no secret inline', () => {
    const used = new Set<string>();
    for (const s of Object.values(services)) for (const k of Object.keys(s.environment ?? {})) used.add(k);
    for (const m of composeText.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) used.add(m[1] as string);
    expect([...used].filter((v) => !settingNames.has(v))).toEqual([]);
    for (const [name, s] of Object.entries(services)) {
      expect(Object.keys(s.environment ?? {})).not.toContain('BROWSERBASE_API_KEY');
      // A secret appears only by name, taken from .env (`${NAME}` / `${NAME:-}`), never as a value.
      for (const secret of secretNames) {
        const value = s.environment?.[secret];
        if (value !== undefined) expect(value, `${name}.${secret}`).toMatch(new RegExp(`^\\$\\{${secret}(:-)?\\}$`));
      }
    }
  });

  it('the ui service no longer gets BROWSERBASE_API_KEY: no env_file, only the settings it needs, taken from .env by name', () => {
    const ui = services.ui as Service;
    expect(ui.env_file).toBeUndefined();
    const names = Object.keys(ui.environment ?? {});
    expect(names.filter((n) => n.startsWith('BROWSERBASE_'))).toEqual([]);
    for (const n of ['REDIS_URL', 'BB_REAPER_UI_USER', 'BB_REAPER_UI_PASSWORD', 'BB_REAPER_METRICS_TOKEN', 'BB_REAPER_PREFIX']) expect(names, n).toContain(n);
    // The worker is the one service that needs the key (sweep / sessions run as `worker` too).
    expect((services.worker as Service).env_file).toBe('.env');
  });
});

describe('.env.example', () => {
  it('names only settings of the configuration schema (and the key variables of the example accounts file), and holds no secret value', () => {
    const text = read('.env.example');
    const names = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string] as const);
    expect(names.length).toBeGreaterThan(5);
    const accounts = (parse(read('deploy/accounts.example.yml')) as { accounts: Record<string, { apiKeyEnv?: string }> }).accounts;
    const keyVariables = new Set(Object.values(accounts).flatMap((a) => (a.apiKeyEnv ? [a.apiKeyEnv] : [])));
    expect([...keyVariables]).toEqual(['BB_KEY_STAGING']);
    expect(names.map(([n]) => n).filter((n) => !settingNames.has(n) && !keyVariables.has(n))).toEqual([]);
    for (const v of keyVariables) expect(names, v).toContainEqual([v, '']);
    const active = new Map([...text.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    expect(active.get('BROWSERBASE_API_KEY')).toBe('');
    expect(active.get('BB_REAPER_UI_PASSWORD')).toBe('');
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('builds in one stage and runs a small image as a non-root user with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1) as string;
    expect(runtime).toMatch(/^node:20-(slim|alpine)\b/);
    expect(runtime).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(runtime).toMatch(/^COPY --from=build /m);
    const user = /^USER (\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin['bb-reaper'];
    expect(runtime).toContain(`ENTRYPOINT ["node", "${bin}"]`);
  });

  it('installs in the runtime stage every package the compiled code imports (no dev dependency needed at run time)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const rel = join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (rel.endsWith('.ts')) {
          for (const m of read(rel).matchAll(/(?:from |import\()'([^.'][^']*)'/g)) {
            const spec = m[1] as string;
            if (spec.startsWith('node:')) continue;
            imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
          }
        }
      }
    };
    walk('src');
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((name) => !(name in pkg.dependencies))).toEqual([]);
    // The logger loads pino-pretty by name on a TTY.
    expect(pkg.dependencies).toHaveProperty('pino-pretty');
  });

  it('keeps secrets and build output out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', 'dist', '.git']) expect(ignored).toContain(entry);
  });
});

/** `docker-compose` (Debian's package, installed by .ci/run) or the `docker compose` plugin. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  return undefined;
}

describe('docker compose config', () => {
  /** `config -q` of `text` as docker-compose.yml (with `.env.example` as `.env`), and `overrides` (repo files) on top. */
  function config(text: string, profile?: string, overrides: readonly string[] = []): { status: number | null; output: string } {
    const cmd = composeCommand();
    if (!cmd) throw new Error('neither `docker-compose` nor `docker compose` is installed: `apt-get install docker-compose` (.ci/run installs it)');
    const dir = mkdtempSync(join(tmpdir(), 'bbr-compose-'));
    try {
      writeFileSync(join(dir, 'docker-compose.yml'), text);
      for (const f of overrides) copyFileSync(join(root, f), join(dir, f));
      copyFileSync(join(root, '.env.example'), join(dir, '.env'));
      const files = overrides.length > 0 ? ['-f', 'docker-compose.yml', ...overrides.flatMap((f) => ['-f', f])] : [];
      const [bin, ...pre] = cmd as [string, ...string[]];
      const r = spawnSync(bin, [...pre, ...files, ...(profile ? ['--profile', profile] : []), 'config', '-q'], { cwd: dir, encoding: 'utf8' });
      return { status: r.status, output: `${r.stdout}${r.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('accepts the file, with and without the simulator profile', () => {
    expect(config(composeText)).toEqual({ status: 0, output: '' });
    expect(config(composeText, 'sim')).toEqual({ status: 0, output: '' });
  });

  it('accepts the two-account override on top of it (rendered and run in test/e2e/compose-accounts.test.ts)', () => {
    expect(config(composeText, undefined, ['docker-compose.accounts.yml'])).toEqual({ status: 0, output: '' });
  });

  it('compose no longer gives the ui container the API key: the rendered ui service lacks what .env gives the worker', () => {
    const cmd = composeCommand();
    if (!cmd) throw new Error('neither `docker-compose` nor `docker compose` is installed');
    const dir = mkdtempSync(join(tmpdir(), 'bbr-compose-'));
    try {
      writeFileSync(join(dir, 'docker-compose.yml'), composeText);
      const env = read('.env.example')
        .replace(/^BROWSERBASE_API_KEY=$/m, 'BROWSERBASE_API_KEY=bb_live_compose-key-5e1a')
        .replace(/^BB_REAPER_UI_PASSWORD=$/m, 'BB_REAPER_UI_PASSWORD=compose-ui-password');
      writeFileSync(join(dir, '.env'), env);
      const [bin, ...pre] = cmd as [string, ...string[]];
      const r = spawnSync(bin, [...pre, 'config'], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const rendered = (parse(r.stdout) as { services: Record<string, { environment?: Record<string, string> }> }).services;
      expect(rendered.worker?.environment?.BROWSERBASE_API_KEY).toBe('bb_live_compose-key-5e1a');
      expect(Object.keys(rendered.ui?.environment ?? {}).filter((n) => n.startsWith('BROWSERBASE_'))).toEqual([]);
      expect(JSON.stringify(rendered.ui)).not.toContain('bb_live_compose-key-5e1a');
      expect(rendered.ui?.environment).toMatchObject({ BB_REAPER_UI_USER: 'admin', BB_REAPER_UI_PASSWORD: 'compose-ui-password', BB_REAPER_UI_HOST: '0.0.0.0' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a broken copy (the check really validates)', () => {
    const broken = composeText.replace('condition: service_healthy', 'condition: when_it_feels_like_it');
    expect(broken).not.toBe(composeText);
    expect(config(broken).status).not.toBe(0);
  });
});
