export { createMetricsRecorder, type MetricsRecorder, type MetricsRecorderOptions } from './recorder.js';
export { readCounters, parseCounters, metricsKey, CLOSE_OUTCOMES, LATENCY_BUCKETS_SECONDS, type CounterSnapshot, type CloseOutcomeLabel } from './counters.js';
export { renderMetrics, QUEUE_STATES, type MetricsSnapshot, type LimiterGauges } from './exposition.js';
