import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer } from "effect"
import { EventBus } from "../services/EventBus.ts"

/** GET /healthz (the process is up) and GET /readyz (database and listener connected). */
export const HealthRoutes = HttpLayerRouter.use((router) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const database = sql`SELECT 1`.pipe(Effect.as(true), Effect.timeout(Duration.seconds(2)), Effect.orElseSucceed(() => false))
    yield* router.add("GET", "/healthz", HttpServerResponse.unsafeJson({ status: "ok" }))
    yield* router.add(
      "GET",
      "/readyz",
      Effect.gen(function* () {
        const [db, listener] = yield* Effect.all([database, bus.connected], { concurrency: 2 })
        const ready = db && listener
        return HttpServerResponse.unsafeJson(
          { status: ready ? "ready" : "not ready", checks: { database: db, listener } },
          { status: ready ? 200 : 503 }
        )
      })
    )
  })
).pipe(Layer.orDie)
