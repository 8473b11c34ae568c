import { PgClient } from "@effect/sql-pg"
import { Config, ConfigError, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
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
    // Restarted in place when it dies; when it keeps dying the program stops with exit code 1 (src/main.ts).
    const server = yield* EmbeddedPostgres.start({
      dataDir,
      port,
      onFatal: () => {
        process.exitCode = 1
        process.kill(process.pid, "SIGTERM")
      }
    })
    yield* Effect.logInfo(`embedded PostgreSQL on 127.0.0.1:${server.port} (${server.dataDir})`)
    return server.url
  })
)

/** A statement the server runs on every connection of the URL (libpq's `options`), kept with any already there. */
const withServerOption = (url: Redacted.Redacted<string>, option: string) => {
  const parsed = new URL(Redacted.value(url))
  const existing = parsed.searchParams.get("options")
  parsed.searchParams.set("options", existing === null ? option : `${existing} ${option}`)
  return Redacted.make(parsed.toString())
}

/**
 * The pool over DatabaseUrl; fails fast (SELECT 1 at start) when the server is unreachable. Every
 * statement is bounded by DB_STATEMENT_TIMEOUT (server side): a request never holds a connection
 * longer, whatever the database is waiting for.
 */
export const PgLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* DatabaseUrl
    const maxConnections = yield* Config.integer("DB_POOL_MAX").pipe(Config.withDefault(10))
    const statementTimeout = yield* Config.duration("DB_STATEMENT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(15)))
    return PgClient.layer({
      url: withServerOption(url, `-c statement_timeout=${Duration.toMillis(statementTimeout)}`),
      maxConnections,
      connectTimeout: "5 seconds",
      idleTimeout: "60 seconds",
      applicationName: "casecore"
    })
  })
)

/** A small pool without a statement timeout, for migrations and the concurrent index step (a build may take minutes). */
const MigrationPoolLive = Layer.unwrapEffect(
  Effect.map(DatabaseUrl, (url) => PgClient.layer({ url, maxConnections: 2, connectTimeout: "5 seconds", applicationName: "casecore-migrate" }))
)

/** The migration pool and the URL, nothing run: what `migrate status` and `migrate` start from. */
export const DatabaseConnectionLive = MigrationPoolLive.pipe(Layer.provideMerge(DatabaseUrlLive))

/** Migrations and the index step, run before the application's pool exists; their pool is closed after. */
const MigratedLive = Layer.effectDiscard(migrate()).pipe(Layer.provide(MigrationPoolLive))

/**
 * The application's database: migrated, with the declared indexes built, before anything uses it (a
 * SqlClient from this layer means a migrated database).
 */
export const DatabaseLive = PgLive.pipe(Layer.provide(MigratedLive), Layer.provideMerge(DatabaseUrlLive))
