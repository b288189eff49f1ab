import type { MetricsRecorder } from '../metrics/recorder.js';
import type { ResultEntry, ResultsWriter } from '../results/results-stream.js';

export type { ResultEntry };

/**
 * What the worker records for `/metrics` (`src/metrics`' recorder, or anything shaped like it).
 * `apiResponse` is fed by the client's `onResponse` hook (one call per HTTP request), not by the
 * processor.
 */
export type MetricsSink = Pick<MetricsRecorder, 'closeOutcome' | 'apiResponse' | 'retry' | 'rateLimited'> & Partial<Pick<MetricsRecorder, 'minutesSaved'>>;

/** Where final outcomes go (`src/results`' writer, or anything shaped like it). */
export type ResultsSink = Pick<ResultsWriter, 'append'>;
