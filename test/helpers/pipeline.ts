import { createBrowserbaseClient, type BrowserbaseClient } from '../../src/browserbase/index.js';
import { resolveConfig, type Config } from '../../src/config/index.js';
import { createProducer, type Producer } from '../../src/producer/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/index.js';
import { createCloseWorker, type CloseWorker, type CloseWorkerOptions } from '../../src/worker/index.js';
import { testRedisUrl, track, uniquePrefix } from './context.js';

export { waitFor } from './wait.js';

export const SIM_KEY = 'sim-key';

/** A quiet logger for tests (LOG_LEVEL=debug shows everything on stderr). */
export const testLogger = () => createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', destination: 2, pretty: false });

export interface PipelineFixture {
  /** `BB_REAPER_PREFIX` (on a cluster the keys live under `{prefix}`: `producer.queues.prefix`). */
  prefix: string;
  config: Config;
  /** The Redis settings as environment variables, for CLI child processes (REDIS_URL and, on a cluster or TLS, the rest). */
  redisEnv: Record<string, string>;
  sim: SimulatorHandle;
  producer: Producer;
  client: BrowserbaseClient;
  startWorker(extra?: Partial<Omit<CloseWorkerOptions, 'config'>> & { config?: Partial<Config> }): Promise<CloseWorker>;
  /** Closes the producer, the client and the simulator (workers are closed by the test). */
  close(): Promise<void>;
}

/**
 * Simulator + producer + a way to start workers, all tracked for the leak check. `redisEnv` adds
 * Redis settings (e.g. `BB_REAPER_REDIS_CLUSTER: 'true'`, `BB_REAPER_REDIS_CA`) for everything it starts.
 */
export async function startPipeline({
  sim: simOpts = {},
  config: configOver = {},
  redisUrl = testRedisUrl(),
  redisEnv: extraRedisEnv = {},
  prefix = uniquePrefix('pipe'),
}: { sim?: SimulatorOptions; config?: Partial<Config>; redisUrl?: string; redisEnv?: Record<string, string>; prefix?: string } = {}): Promise<PipelineFixture> {
  const sim = track(await startSimulator({ apiKeys: [SIM_KEY], ...simOpts }), 'simulator');
  const redisEnv = { REDIS_URL: redisUrl, ...extraRedisEnv };
  const config: Config = {
    ...resolveConfig({ env: { ...redisEnv, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: sim.url, BB_REAPER_PREFIX: prefix } }),
    ...configOver,
  };
  const { redisCluster, redisCa, redisCert, redisKey } = config;
  const producer = track(createProducer({ redisUrl: config.redisUrl, redisCluster, redisCa, redisCert, redisKey, prefix }), 'producer');
  const client = track(createBrowserbaseClient({ apiKey: SIM_KEY, baseUrl: sim.url, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 }), 'client');
  return {
    prefix,
    config,
    redisEnv,
    sim,
    producer,
    client,
    async close() {
      await producer.close();
      await client.close();
      await sim.close();
    },
    async startWorker(extra = {}) {
      const { config: c, ...rest } = extra;
      return track(await createCloseWorker({ config: { ...config, ...c }, client, logger: testLogger(), ...rest }), 'close worker');
    },
  };
}

/** Seeds sessions through the simulator's admin API (`POST /_sim/sessions`) and returns their ids. */
export async function seedSessions(p: Pick<PipelineFixture, 'sim'>, body: Record<string, unknown>): Promise<string[]> {
  const res = await fetch(`${p.sim.url}/_sim/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`POST /_sim/sessions answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { ids: string[] }).ids;
}
