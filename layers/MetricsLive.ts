import { Effect, Layer } from "effect"
import * as Prometheus from "prom-client"
import { Metrics } from "../services/Metrics.ts"

/** One prom-client Registry per app instance (two instances in one process keep separate counters). */
const make = Effect.sync(() => {
  const registry = new Prometheus.Registry()
  Prometheus.collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const counter = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Prometheus.Counter<L>({ name, help, labelNames, registers })
  const gauge = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Prometheus.Gauge<L>({ name, help, labelNames, registers })
  return Metrics.of({
    httpRequests: counter("http_requests_total", "HTTP requests answered, by method and the status sent", ["method", "status"]),
    httpDuration: new Prometheus.Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration, from the request to the end of the response",
      buckets: Prometheus.exponentialBuckets(0.001, 2, 14),
      registers
    }),
    logins: counter("auth_logins_total", "Login attempts, by outcome", ["outcome"]),
    refreshes: counter("auth_refreshes_total", "Refresh-token presentations, by outcome", ["outcome"]),
    revocations: counter("auth_revocations_total", "Sessions revoked, by reason", ["reason"]),
    listenerConnected: gauge("eventbus_listener_connected", "1 while this instance listens for cross-instance events", []),
    listenerReconnects: counter("eventbus_listener_reconnects_total", "Reconnects of the LISTEN connection", []),
    undecodablePayloads: counter("eventbus_undecodable_payloads_total", "NOTIFY payloads that were not a known event", []),
    subscriberResyncs: counter("eventbus_subscriber_resyncs_total", "Subscribers that fell behind and were told to re-sync", []),
    render: Effect.promise(async () => ({ contentType: registry.contentType, body: await registry.metrics() }))
  })
})

export const MetricsLive = Layer.effect(Metrics, make)
