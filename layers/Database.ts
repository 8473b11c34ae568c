import { PgClient } from "@effect/sql-pg"
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { portConfig } from "./ConfigValues.ts"
import * as EmbeddedPostgres from "./EmbeddedPostgres.ts"

/** The connection string of the database this process uses (for clients outside the pool: LISTEN). */
export class DatabaseUrl extends Context.Tag("casecore/DatabaseUrl")<DatabaseUrl, Redacted.Redacted<string>>() {}

const isPostgresUrl = (url: Redacted.Redacted<string>) => {
  try {
    const protocol = new URL(Redacted.value(url)).protocol
    return protocol === "postgres:" || protocol === "postgresql:"
  } catch {
    return false
  }
}

const databaseUrlConfig = Config.redacted("DATABASE_URL").pipe(
  Config.mapOrFail((url) =>
    isPostgresUrl(url)
      ? Either.right(url)
      : Either.left(ConfigError.InvalidData(["DATABASE_URL"], "expected a postgres://user:password@host:port/database URL"))
  ),
  Config.option
)

/** DATABASE_URL when set; otherwise an embedded PostgreSQL under `.data/`, started and stopped with the scope. */
const DatabaseUrlLive = Layer.scoped(
  DatabaseUrl,
  Effect.gen(function* () {
    const configured = yield* databaseUrlConfig
    if (Option.isSome(configured)) return configured.value
    const dataDir = yield* Config.option(Config.string("EMBEDDED_PG_DIR")).pipe(
      Effect.flatMap(Option.match({ onSome: Effect.succeed, onNone: () => EmbeddedPostgres.defaultDataDir(".data/pg") }))
    )
    const port = yield* portConfig("EMBEDDED_PG_PORT", 0)
    const server = yield* EmbeddedPostgres.start({ dataDir, port })
    yield* Effect.logInfo(`embedded PostgreSQL on 127.0.0.1:${server.port} (${server.dataDir})`)
    return server.url
  })
)

/** The pool over DatabaseUrl; fails fast (SELECT 1 at start) when the server is unreachable. */
export const PgLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* DatabaseUrl
    const maxConnections = yield* Config.integer("DB_POOL_MAX").pipe(Config.withDefault(10))
    return PgClient.layer({
      url,
      maxConnections,
      connectTimeout: "5 seconds",
      idleTimeout: "60 seconds",
      applicationName: "casecore"
    })
  })
)

export const DatabaseLive = PgLive.pipe(Layer.provideMerge(DatabaseUrlLive))
