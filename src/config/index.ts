export { resolveConfig, ConfigError, maskUrlPassword, maskRedisUrls, type Config, type ConfigFlags, type ConfigIssue, type ResolveConfigOptions } from './resolve.js';
export { configSchema, FILE_SETTINGS, isBooleanSetting, LIMITS, PLANS, PLAN_PRESETS, REDIS_SETTINGS, SETTINGS, type Plan, type SettingName } from './schema.js';
export { ACCOUNT_NAME_PATTERN, DEFAULT_ACCOUNT, checkAccountName, findAccount, readAccountsFile, type Account, type AccountIssue } from './accounts.js';
