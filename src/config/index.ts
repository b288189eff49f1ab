export { resolveConfig, ConfigError, maskUrlPassword, maskRedisUrls, type Config, type ConfigFlags, type ConfigIssue, type ResolveConfigOptions } from './resolve.js';
export { configSchema, FILE_SETTINGS, isBooleanSetting, LIMITS, PLANS, PLAN_PRESETS, REDIS_SETTINGS, SETTINGS, type Plan, type SettingName } from './schema.js';
