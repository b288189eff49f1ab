export { resolveConfig, ConfigError, maskUrlPassword, type Config, type ConfigFlags, type ConfigIssue, type ResolveConfigOptions } from './resolve.js';
export { configSchema, LIMITS, PLANS, PLAN_PRESETS, SETTINGS, type Plan, type SettingName } from './schema.js';
