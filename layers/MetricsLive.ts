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
    wsConnections: gauge("ws_connections", "Open WebSockets, by endpoint", ["endpoint"]),
    wsConnects: counter("ws_connects_total", "WebSocket handshakes, by endpoint and outcome", ["endpoint", "outcome"]),
    wsCloses: counter("ws_closes_total", "WebSockets closed, by endpoint and close code", ["endpoint", "code"]),
    wsDeliveries: counter("ws_deliveries_total", "Live events written to sockets", []),
    wsDeliveryLag: new Prometheus.Histogram({
      name: "ws_delivery_lag_seconds",
      help: "From a notification's commit to its frame being written to a socket",
      buckets: Prometheus.exponentialBuckets(0.001, 2, 14),
      registers
    }),
    wsFramesRefused: counter("ws_frames_refused_total", "Client frames answered with an error, by endpoint and code", ["endpoint", "code"]),
    wsSlowConsumers: counter("ws_slow_consumer_closes_total", "Sockets closed for not reading (4503)", ["endpoint"]),
    render: Effect.promise(async () => ({ contentType: registry.contentType, body: await registry.metrics() }))
  })
})

export const MetricsLive = Layer.effect(Metrics, make)
