import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"

const Readiness = Schema.Struct({
  status: Schema.Literal("ready", "not ready", "draining"),
  checks: Schema.Struct({ database: Schema.Boolean, listener: Schema.Boolean })
})

export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("healthz", "/healthz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .annotate(OpenApi.Summary, "The process is up")
  )
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(Readiness)
      .addError(Readiness.annotations({ identifier: "NotReady", ...HttpApiSchema.annotations({ status: 503 }) }))
      .annotate(OpenApi.Summary, "The database and the LISTEN connection are up and the server is not draining")
  ) {}

export class JwksGroup extends HttpApiGroup.make("jwks")
  .add(
    HttpApiEndpoint.get("jwks", "/.well-known/jwks.json")
      .addSuccess(Schema.Struct({ keys: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown })) }))
      .annotate(OpenApi.Summary, "The public keys that verify access tokens: the current one and the previous ones")
  ) {}

export class MetricsGroup extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4; charset=utf-8" })))
      .annotate(OpenApi.Summary, "Prometheus text exposition of this instance's metrics")
  ) {}
