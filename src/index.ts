// The library API of bb-reaper: named exports only.
export { resolveConfig, ConfigError, PLAN_PRESETS, PLANS, type Config, type ConfigFlags, type Plan } from './config/index.js';
export { BbReaperError } from './shared/errors.js';
export { createLogger, type Logger } from './shared/logger.js';
export { CLOSE_QUEUE, DEAD_LETTER_QUEUE, CLOSE_JOB_NAME, closeJobId } from './shared/names.js';
