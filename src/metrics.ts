import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestEvents } from './pipeline/events.js';

/**
 * Prometheus metrics (prom-client, the library Node services use for it),
 * served on a listener of their own (`metrics.listen`, off by default) so the
 * gateway's public port never exposes them. They come from the one request
 * event (src/pipeline/events.ts): requests by resource, action, decision and
 * code, and their latency; plus the audit writer's counts and the process's
 * default metrics. No per-key label (cardinality; the audit has keys).
 */
export interface MetricsSources {
  readonly events: RequestEvents;
  /** The audit writer's counts, read at scrape time. */
  readonly audit?: { readonly written: number; readonly dropped: number; readonly available: boolean };
}

export function gatewayMetrics(src: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ghostgate_' });
  const requests = new Counter({
    name: 'ghostgate_requests_total',
    help: 'Requests through the gateway, by the catalog resource and action, the decision (allow, deny, error, unknown) and its code',
    labelNames: ['resource', 'action', 'decision', 'code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ghostgate_request_duration_seconds',
    help: 'Time from the request to its answer, Ghost included, by decision',
    labelNames: ['decision'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  src.events.subscribe((e) => {
    requests.inc({ resource: e.resource ?? 'none', action: e.action ?? 'none', decision: e.decision, code: e.code ?? 'none' });
    if (e.latencyMs !== null) latency.observe({ decision: e.decision }, e.latencyMs / 1000);
  });
  const audit = src.audit;
  if (audit) {
    new Gauge({
      name: 'ghostgate_audit_records_written',
      help: 'Audit records written by this process',
      registers: [registry],
      collect() {
        this.set(audit.written);
      },
    });
    new Gauge({
      name: 'ghostgate_audit_records_dropped',
      help: 'Audit records dropped after an outage longer than the backlog holds',
      registers: [registry],
      collect() {
        this.set(audit.dropped);
      },
    });
    new Gauge({
      name: 'ghostgate_audit_available',
      help: '1 when the audit can be written (with `serve --workers`: by every worker)',
      registers: [registry],
      aggregator: 'min',
      collect() {
        this.set(audit.available ? 1 : 0);
      },
    });
  }
  return registry;
}

/**
 * `serve --workers`: a worker's metrics go to the primary, which answers the scrape for all of them
 * (prom-client's AggregatorRegistry, made for node:cluster: counters and histograms summed, the
 * audit's availability the minimum), so that a scrape never sees one worker picked at random.
 */
export function shareWithPrimary(registry: Registry): void {
  new AggregatorRegistry(); // answers the primary's requests in this worker (prom-client/lib/cluster.js)
  AggregatorRegistry.setRegistries([registry]);
}

/** The workers' metrics summed, as the primary serves them (`serveMetrics(clusterMetrics(), …)`). */
export function clusterMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}

/** What a scrape answers: one registry, or the workers' summed. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** GET /metrics on its own listener; anything else is 404. */
export async function serveMetrics(registry: MetricsSource, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` };
}
