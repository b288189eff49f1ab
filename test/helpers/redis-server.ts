// The test harness's private redis-servers: the same launcher the demo and the benchmarks use.
export { startRedisServer, freePort, type RedisServerHandle, type StartRedisServerOptions as StartRedisOptions } from '../../src/shared/redis-server.js';
