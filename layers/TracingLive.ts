import { FetchHttpClient } from "@effect/platform"
import { OtlpSerialization, OtlpTracer } from "@effect/opentelemetry"
import { Config, Effect, Layer, Option } from "effect"

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT set: every Effect.fn span and a span per HTTP request go out over
 * OTLP/HTTP (`<endpoint>/v1/traces`). Unset: tracing is off altogether, so spans cost nothing on hot
 * paths (measured in bench/http).
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const endpoint = yield* Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT"))
    if (Option.isNone(endpoint)) return Layer.setTracerEnabled(false)
    const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("casecore"))
    return OtlpTracer.layer({
      url: `${endpoint.value.replace(/\/+$/, "")}/v1/traces`,
      resource: { serviceName },
      exportInterval: "1 second"
    }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
  })
)
