// A real OTLP/HTTP receiver (JSON encoding) for the telemetry tests: it stores every export the
// gateway's SDK posts to /v1/traces and /v1/metrics and flattens them for assertions.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean | AttrValue[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  events: { name: string; timeNs: bigint; attributes: Record<string, AttrValue> }[];
  status: { code?: number; message?: string };
  resource: Record<string, AttrValue>;
}

export interface HistogramPoint {
  attributes: Record<string, AttrValue>;
  count: number;
  sum: number;
}

export interface OtlpReceiver {
  url: string;
  /** Raw bodies as received, for leak checks. */
  bodies: string[];
  /** The Authorization header of each accepted export (undefined when none was sent). */
  authorizations: (string | undefined)[];
  /** Requests that were not OTLP/JSON posts to the two signal paths. */
  rejected: string[];
  spans(): ReceivedSpan[];
  /** Points of a histogram from the latest export that has it (temporality is cumulative). */
  histogram(name: string): { unit: string; points: HistogramPoint[] } | null;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const traces: unknown[] = [];
  const metrics: unknown[] = [];
  const bodies: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const rejected: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const json = /json/.test(req.headers['content-type'] ?? '');
      if (req.method !== 'POST' || !json || (req.url !== '/v1/traces' && req.url !== '/v1/metrics')) {
        rejected.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(400).end();
        return;
      }
      bodies.push(text);
      authorizations.push(req.headers.authorization);
      (req.url === '/v1/traces' ? traces : metrics).push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    authorizations,
    rejected,
    spans: () => traces.flatMap((t: any) => (t.resourceSpans ?? []).flatMap((rs: any) => {
      const resource = attrs(rs.resource?.attributes);
      return (rs.scopeSpans ?? []).flatMap((ss: any) => (ss.spans ?? []).map((s: any) => toSpan(s, resource)));
    })),
    histogram(name) {
      for (let i = metrics.length - 1; i >= 0; i--) {
        for (const rm of (metrics[i] as any).resourceMetrics ?? []) {
          for (const sm of rm.scopeMetrics ?? []) {
            const m = (sm.metrics ?? []).find((x: any) => x.name === name);
            if (m?.histogram) {
              return {
                unit: m.unit,
                points: m.histogram.dataPoints.map((p: any) => ({ attributes: attrs(p.attributes), count: Number(p.count), sum: Number(p.sum) })),
              };
            }
          }
        }
      }
      return null;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function toSpan(s: any, resource: Record<string, AttrValue>): ReceivedSpan {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId ?? '',
    name: s.name,
    kind: s.kind,
    startNs: BigInt(s.startTimeUnixNano),
    endNs: BigInt(s.endTimeUnixNano),
    attributes: attrs(s.attributes),
    events: (s.events ?? []).map((e: any) => ({ name: e.name, timeNs: BigInt(e.timeUnixNano), attributes: attrs(e.attributes) })),
    status: s.status ?? {},
    resource,
  };
}

function attrs(list: any[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of list ?? []) out[a.key] = value(a.value);
  return out;
}

function value(v: any): AttrValue {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(value);
  return null;
}
