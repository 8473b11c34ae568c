import { PgClient } from "@effect/sql-pg"
import { Config, ConfigError, Effect, Either, Layer, Option, Redacted } from "effect"
import { migrate } from "../migrations/Migrate.ts"
import { DatabaseUrl } from "../services/Database.ts"
import * as EmbeddedPostgres from "./EmbeddedPostgres.ts"
import { portConfig } from "./HttpConfig.ts"

const isPostgresUrl = (url: Redacted.Redacted<string>) => {
  try {
    const protocol = new URL(Redacted.value(url)).protocol
    return protocol === "postgres:" || protocol === "postgresql:"
  } catch {
    return false
  }
}

/** DATABASE_URL, unset or empty: the embedded database. */
const databaseUrlConfig = Config.redacted("DATABASE_URL").pipe(
  Config.map((url) => Option.liftPredicate(url, (value) => Redacted.value(value).trim() !== "")),
  Config.mapOrFail((configured): Either.Either<Option.Option<Redacted.Redacted<string>>, ConfigError.ConfigError> =>
    Option.isNone(configured) || isPostgresUrl(configured.value)
      ? Either.right(configured)
      : Either.left(ConfigError.InvalidData(["DATABASE_URL"], "expected a postgres://user:password@host:port/database URL"))),
  Config.withDefault(Option.none<Redacted.Redacted<string>>())
)
/** DATABASE_URL when set; otherwise an embedded PostgreSQL under `.data/`, started and stopped with the scope. */
export const DatabaseUrlLive = Layer.scoped(
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

/** The pool and the URL, nothing run: what `migrate status` and `migrate` start from. */
export const DatabaseConnectionLive = PgLive.pipe(Layer.provideMerge(DatabaseUrlLive))

/**
 * The application's database: migrated, with the declared indexes built, before anything uses it (a
 * SqlClient from this layer means a migrated database).
 */
export const DatabaseLive = Layer.effectDiscard(migrate()).pipe(Layer.provideMerge(DatabaseConnectionLive))
