import { Context, type Effect } from "effect"

/**
 * Instruments are plain synchronous calls, not Effects: they sit on per-request and per-frame paths,
 * where building an Effect per increment was measured as a third of the request's CPU (issue 6).
 */
export interface Counter<L extends string> {
  readonly inc: (labels: Readonly<Record<L, string>>, value?: number) => void
}

export interface Gauge<L extends string> {
  readonly set: (labels: Readonly<Record<L, string>>, value: number) => void
  readonly inc: (labels: Readonly<Record<L, string>>, value?: number) => void
  readonly dec: (labels: Readonly<Record<L, string>>, value?: number) => void
}

export interface Histogram<L extends string> {
  readonly observe: (labels: Readonly<Record<L, string>>, value: number) => void
}

/** The application's metrics: one registry per app instance, rendered at GET /metrics. */
export class Metrics extends Context.Tag("casecore/Metrics")<
  Metrics,
  {
    /** http_requests_total: answers by method and the status actually sent. */
    readonly httpRequests: Counter<"method" | "status">
    /** http_request_duration_seconds. */
    readonly httpDuration: Histogram<never>
    /** auth_logins_total by outcome (SUCCEEDED or the error code). */
    readonly logins: Counter<"outcome">
    /** auth_refreshes_total by outcome. */
    readonly refreshes: Counter<"outcome">
    /** auth_revocations_total: sessions revoked, by reason. */
    readonly revocations: Counter<"reason">
    /** eventbus_listener_connected: 1 while this instance listens for cross-instance events. */
    readonly listenerConnected: Gauge<never>
    /** eventbus_listener_reconnects_total. */
    readonly listenerReconnects: Counter<never>
    /** eventbus_undecodable_payloads_total: NOTIFY payloads that were not a known event. */
    readonly undecodablePayloads: Counter<never>
    /** eventbus_subscriber_resyncs_total: a subscriber fell behind and was told to re-sync. */
    readonly subscriberResyncs: Counter<never>
    /** ws_connections: open WebSockets by endpoint (notifications, ai, rpc). */
    readonly wsConnections: Gauge<"endpoint">
    /** ws_connects_total: socket handshakes by endpoint and outcome (CONNECTED or the error code). */
    readonly wsConnects: Counter<"endpoint" | "outcome">
    /** ws_closes_total: sockets closed, by endpoint and close code. */
    readonly wsCloses: Counter<"endpoint" | "code">
    /** ws_deliveries_total: live events written to sockets. */
    readonly wsDeliveries: Counter<never>
    /** ws_delivery_lag_seconds: from the notification's commit (clock_timestamp() in its NOTIFY) to its frame being written. */
    readonly wsDeliveryLag: Histogram<never>
    /** ws_frames_refused_total: client frames answered with an error, by endpoint and code. */
    readonly wsFramesRefused: Counter<"endpoint" | "code">
    /** ws_slow_consumer_closes_total: sockets closed 4503 for not reading. */
    readonly wsSlowConsumers: Counter<"endpoint">
    /** The Prometheus text exposition of this instance's registry. */
    readonly render: Effect.Effect<{ readonly contentType: string; readonly body: string }>
  }
>() {}
