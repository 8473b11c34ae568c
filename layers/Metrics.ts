import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Metric, MetricBoundaries, MetricState } from "effect"
import type * as MetricPair from "effect/MetricPair"
import * as PerfHooks from "node:perf_hooks"
import { EventBus } from "../services/EventBus.ts"

/** The application's metrics (Effect metrics are process-wide); GET /metrics renders them for Prometheus. */
export const httpRequests = Metric.counter("http_requests_total", { description: "HTTP requests answered, by method and status" })
export const httpDuration = Metric.histogram(
  "http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 14 }),
  "HTTP request duration"
)
export const logins = Metric.counter("auth_logins_total", { description: "Login attempts, by outcome" })
export const refreshes = Metric.counter("auth_refreshes_total", { description: "Refresh-token presentations, by outcome" })
export const revocations = Metric.counter("auth_revocations_total", { description: "Sessions revoked, by reason" })

/** Counts one outcome of a labelled counter. */
export const count = (counter: Metric.Metric.Counter<number>, label: string, value: string) =>
  Metric.increment(Metric.tagged(counter, label, value))

const escape = (value: string) => value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"')

const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra: ReadonlyArray<readonly [string, string]> = []) => {
  const all = [...tags.map((tag) => [tag.key, tag.value] as const), ...extra]
  return all.length === 0 ? "" : `{${all.map(([key, value]) => `${key}="${escape(value)}"`).join(",")}}`
}

const sampleLines = (pair: MetricPair.MetricPair.Untyped): { readonly type: string; readonly lines: ReadonlyArray<string> } | undefined => {
  const { name, tags } = pair.metricKey
  const state = pair.metricState
  if (MetricState.isCounterState(state)) return { type: "counter", lines: [`${name}${labels(tags)} ${state.count}`] }
  if (MetricState.isGaugeState(state)) return { type: "gauge", lines: [`${name}${labels(tags)} ${state.value}`] }
  if (MetricState.isHistogramState(state)) {
    return {
      type: "histogram",
      lines: [
        ...state.buckets.map(([bound, total]) =>
          `${name}_bucket${labels(tags, [["le", Number.isFinite(bound) ? String(bound) : "+Inf"]])} ${total}`),
        `${name}_sum${labels(tags)} ${state.sum}`,
        `${name}_count${labels(tags)} ${state.count}`
      ]
    }
  }
  return undefined
}

/** The Prometheus text exposition format (0.0.4), one HELP/TYPE block per metric name. */
const renderPrometheus = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>, gauges: ReadonlyArray<readonly [string, string, number]>) => {
  const blocks = new Map<string, { help: string; type: string; lines: Array<string> }>()
  for (const pair of pairs) {
    const sample = sampleLines(pair)
    if (sample === undefined) continue
    const block = blocks.get(pair.metricKey.name) ?? { help: pair.metricKey.description._tag === "Some" ? pair.metricKey.description.value : pair.metricKey.name, type: sample.type, lines: [] }
    block.lines.push(...sample.lines)
    blocks.set(pair.metricKey.name, block)
  }
  for (const [name, help, value] of gauges) blocks.set(name, { help, type: "gauge", lines: [`${name} ${value}`] })
  return [...blocks].map(([name, block]) => `# HELP ${name} ${block.help}\n# TYPE ${name} ${block.type}\n${block.lines.join("\n")}\n`).join("")
}

/** GET /metrics: the counters above plus process and listener gauges read at scrape time. */
export const MetricsRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const loopDelay = PerfHooks.monitorEventLoopDelay({ resolution: 20 })
    loopDelay.enable()
    yield* Effect.addFinalizer(() => Effect.sync(() => loopDelay.disable()))
    yield* router.add(
      "GET",
      "/metrics",
      Effect.gen(function* () {
        const memory = process.memoryUsage()
        const gauges: ReadonlyArray<readonly [string, string, number]> = [
          ["process_resident_memory_bytes", "Resident memory", memory.rss],
          ["nodejs_heap_used_bytes", "V8 heap in use", memory.heapUsed],
          ["process_uptime_seconds", "Seconds since the process started", process.uptime()],
          ["nodejs_eventloop_delay_p99_seconds", "Event loop delay, 99th percentile since start", loopDelay.percentile(99) / 1e9],
          ["eventbus_listener_connected", "1 when this instance is listening for cross-instance events", (yield* bus.connected) ? 1 : 0]
        ]
        const text = renderPrometheus(yield* Metric.snapshot, gauges)
        return HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
      })
    )
  })
)
