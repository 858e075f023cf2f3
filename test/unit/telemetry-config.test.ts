import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { errorType, finishReasons, operationName, usageAttributes } from '../../src/telemetry/genai.js';

describe('telemetry configuration (the standard OTEL_* variables)', () => {
  it('is off by default and when only non-endpoint variables are set', () => {
    expect(parseConfig({}).TELEMETRY).toBeNull();
    expect(parseConfig({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).TELEMETRY).toBeNull();
  });

  it('turns on with an OTLP endpoint, appending the per-signal paths; a per-signal endpoint is used as is', () => {
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).TELEMETRY).toEqual({
      serviceName: 'gemini-gateway',
      tracesUrl: 'http://collector:4318/v1/traces',
      metricsUrl: 'http://collector:4318/v1/metrics',
      protocol: 'http/protobuf',
      sampler: { name: 'parentbased_always_on', ratio: 1 },
      metricIntervalMs: 60_000,
      captureContent: false,
    });
    const t = parseConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/x', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).TELEMETRY!;
    expect(t).toMatchObject({ tracesUrl: 'http://t:1/x', metricsUrl: null, sampler: { name: 'parentbased_traceidratio', ratio: 0.25 } });
  });

  it('stays off when the SDK is disabled or both exporters are none', () => {
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).TELEMETRY).toBeNull();
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }).TELEMETRY).toBeNull();
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'none' }).TELEMETRY?.metricsUrl).toBeNull();
  });

  it('reads the GenAI capture-content switch case-insensitively', () => {
    const capture = (v: string) => parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: v }).TELEMETRY!.captureContent;
    expect(['true', 'SPAN_ONLY', 'span_and_event'].map(capture)).toEqual([true, true, true]);
    expect(['false', 'NO_CONTENT', 'EVENT_ONLY'].map(capture)).toEqual([false, false, false]);
  });

  it('refuses OTLP over gRPC and unknown samplers with a message naming the variable', () => {
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(ConfigError);
    expect(() => parseConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
  });
});

describe('GenAI attribute mapping', () => {
  it('names operations for model calls only', () => {
    expect(operationName('generateContent', null)).toBe('generate_content');
    expect(operationName('streamGenerateContent', null)).toBe('generate_content');
    expect(operationName('batchEmbedContents', null)).toBe('embeddings');
    expect(operationName('interactions.create', { model: 'm' })).toBe('generate_content');
    expect(operationName('interactions.create', { agent: 'deep-research' })).toBe('invoke_agent');
    expect(operationName('files', null)).toBeNull();
  });

  it('counts cached tokens inside input and thoughts inside output, as the conventions define them', () => {
    const u = { promptTokens: 100, cachedTokens: 40, outputTokens: 10, thoughtsTokens: 5, toolUsePromptTokens: 3, totalTokens: 118, json: '{}' };
    expect(usageAttributes(u)).toEqual({
      'gen_ai.usage.input_tokens': 103,
      'gen_ai.usage.output_tokens': 15,
      'gen_ai.usage.cache_read.input_tokens': 40,
      'gen_ai.usage.reasoning.output_tokens': 5,
      'gemini_gateway.usage.total_tokens': 118,
    });
  });

  it('reads finish reasons per candidate, or an interaction status', () => {
    expect(finishReasons({ candidates: [{ finishReason: 'STOP' }, { finishReason: 'MAX_TOKENS' }, {}] })).toEqual(['STOP', 'MAX_TOKENS']);
    expect(finishReasons({ id: 'i', status: 'requires_action' })).toEqual(['requires_action']);
    expect(finishReasons(undefined)).toBeNull();
    expect(errorType('ok', 200)).toBeNull();
    expect(errorType('upstream_error', 503)).toBe('503');
    expect(errorType('client_aborted', 200)).toBe('client_aborted');
    expect(errorType('token_expired', 1008)).toBeNull();
  });
});
