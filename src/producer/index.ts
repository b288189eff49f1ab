export { createProducer, type Producer, type ProducerOptions } from './producer.js';
export { enqueueCloses, DEFAULT_CHUNK_SIZE, type EnqueueOptions, type EnqueueProgress, type EnqueueReport, type EnqueueTarget } from './enqueue.js';
export {
  normalizeCloseRequest,
  normalizeCloseItem,
  isInvalid,
  SourcedInput,
  MAX_FIELD_LENGTH,
  type CloseInput,
  type CloseRequest,
  type InvalidItem,
  type NormalizedRequest,
} from './close-request.js';
