import type { Histogram, Meter } from '@opentelemetry/api';

/** The GenAI client metrics (semantic conventions), exported over OTLP beside Prometheus' /metrics. */
export interface GenAiInstruments {
  /** gen_ai.client.token.usage, one record per token type (input, output) per request. */
  tokenUsage: Histogram;
  /** gen_ai.client.operation.duration: request start to the end of the answer, in seconds. */
  duration: Histogram;
  /** gen_ai.client.operation.time_to_first_chunk: streams only, in seconds. */
  timeToFirstChunk: Histogram;
}

/** Bucket boundaries the conventions advise for each instrument. */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const CHUNK_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

export function createGenAiInstruments(meter: Meter): GenAiInstruments {
  return {
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    duration: meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's',
      description: 'GenAI operation duration.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    timeToFirstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      unit: 's',
      description: 'Time to receive the first chunk of a streamed answer, from the start of the request.',
      advice: { explicitBucketBoundaries: CHUNK_BUCKETS },
    }),
  };
}
