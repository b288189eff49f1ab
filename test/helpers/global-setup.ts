import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let server: RedisServerHandle | undefined;

/**
 * Starts one private redis-server for the whole run (or uses REDIS_URL when given). Tests never
 * FLUSHALL: each one works under its own key prefix.
 */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** CLI tests run the built CLI: build it once when sources are newer (`npm test` builds first). */
function buildIfStale(): void {
  const cli = 'dist/src/cli/main.js';
  if (existsSync(cli) && statSync(cli).mtimeMs >= newestMtime('src')) return;
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  } catch {
    // tsc still emits on type errors; `npm test` reports them in its own build step
  }
}

export async function setup(project: TestProject): Promise<void> {
  buildIfStale();
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return;
  }
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.close();
}
