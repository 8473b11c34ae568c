import { SqlClient } from "@effect/sql"
import { Console, Effect, Either, Layer, Schema } from "effect"
import { migrate, appliedMigrations } from "../../migrations/Migrate.ts"
import { migrations } from "../../migrations/index.ts"
import { indexStates } from "../../migrations/ConcurrentIndexes.ts"
import { listenConfig } from "../../layers/HttpServer.ts"
import { CoreLive, DatabaseLive, ServerLive } from "../../layers/Main.ts"
import { Directory } from "../../services/Directory.ts"
import { Sessions } from "../../services/Sessions.ts"
import { Email, Role, Slug } from "../domain/Roles.ts"
import { seedDemo, seedDemoIfEmpty } from "../seed/Demo.ts"
import { type ParsedArgs, required, UsageError } from "./Args.ts"
import { readPassword } from "./ReadPassword.ts"

const decodeArg = <A, I>(schema: Schema.Schema<A, I>, name: string, value: string) =>
  Schema.decodeUnknownEither(schema)(value).pipe(
    Either.mapLeft((error) => new UsageError({ message: `--${name}: ${error.message.split("\n").at(-1)?.trim()}` }))
  )

const withDatabase = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, DatabaseLive)

const migrateCommand = withDatabase(
  Effect.gen(function* () {
    const { applied, indexes } = yield* migrate()
    const built = indexes.filter((index) => index.action !== "unchanged").length
    yield* Console.log(`migrations applied: ${applied.length === 0 ? "none pending" : applied.map(([id, name]) => `${id}_${name}`).join(", ")}`)
    yield* Console.log(`indexes: ${indexes.length} declared, ${built} built, all valid`)
  })
)

const statusCommand = (json: boolean) =>
  withDatabase(
    Effect.scoped(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const applied = yield* appliedMigrations
        const appliedIds = new Set(applied.map((row) => row.id))
        const pending = migrations.filter(([id]) => !appliedIds.has(id)).map(([id, name]) => ({ id, name }))
        const connection = yield* sql.reserve
        const indexes = yield* indexStates(connection)
        if (json) {
          return yield* Console.log(JSON.stringify({ applied, pending, indexes }, null, 2))
        }
        for (const row of applied) yield* Console.log(`applied  ${row.id}_${row.name}  ${row.appliedAt.toISOString()}`)
        for (const row of pending) yield* Console.log(`pending  ${row.id}_${row.name}`)
        for (const index of indexes) yield* Console.log(`index    ${index.name.padEnd(48)} ${index.state}`)
      })
    )
  )

/** Migrate, load demo data into an empty embedded database, then serve; the core services are built once. */
const serveCommand = Effect.zipRight(
  listenConfig,
  withDatabase(
    Effect.scoped(
      Effect.gen(function* () {
        yield* migrate()
        const core = yield* Layer.build(CoreLive)
        yield* Effect.provide(seedDemoIfEmpty, core)
        return yield* Layer.launch(ServerLive.pipe(Layer.provide(Layer.succeedContext(core))))
      })
    )
  )
)

const withDirectory = <A, E>(f: (directory: Directory["Type"]) => Effect.Effect<A, E>) =>
  withDatabase(Effect.provide(Effect.flatMap(Directory, f), CoreLive))

/** The command a parsed command line names, or a usage error (exit 2). */
export const command = (args: ParsedArgs): Either.Either<Effect.Effect<void, unknown>, UsageError> => {
  const [first, second, ...rest] = args.words
  const key = `${first ?? ""} ${second ?? ""}`.trim()
  if (rest.length > 0) return Either.left(new UsageError({ message: `unexpected argument ${rest[0]}` }))
  switch (key) {
    case "serve":
      return Either.right(serveCommand)
    case "migrate":
      return Either.right(migrateCommand)
    case "migrate status":
      return Either.right(statusCommand(args.flags.has("json")))
    case "seed demo":
      return Either.right(withDatabase(Effect.provide(seedDemo, CoreLive)).pipe(Effect.andThen((summary) => Console.log(summary))))
    case "org create":
      return Either.gen(function* () {
        const slug = yield* decodeArg(Slug, "slug", yield* required(args, "slug"))
        const name = yield* required(args, "name")
        return withDirectory((directory) => directory.createOrganization({ slug, name })).pipe(Effect.andThen(Console.log))
      })
    case "user create":
      return Either.gen(function* () {
        const organizationSlug = yield* required(args, "org")
        const email = yield* decodeArg(Email, "email", yield* required(args, "email"))
        const role = yield* decodeArg(Role, "role", yield* required(args, "role"))
        const displayName = args.options.get("name")?.trim() || email.split("@")[0]!
        return Effect.gen(function* () {
          const password = yield* readPassword
          const id = yield* withDirectory((directory) => directory.createUser({ organizationSlug, email, role, displayName, password }))
          yield* Console.log(id)
        })
      })
    case "user deactivate":
      return Either.gen(function* () {
        const organizationSlug = yield* required(args, "org")
        const email = yield* decodeArg(Email, "email", yield* required(args, "email"))
        return withDatabase(
          Effect.provide(
            Effect.gen(function* () {
              const directory = yield* Directory
              const sessions = yield* Sessions
              const user = yield* directory.findUser({ organizationSlug, email })
              yield* sessions.deactivateUser("operator", user.id, { ip: "cli", userAgent: "casecore-cli" })
              yield* Console.log(`deactivated ${email} (${user.id}); every session revoked`)
            }),
            CoreLive
          )
        )
      })
    default:
      return Either.left(new UsageError({ message: key === "" ? "no command given" : `unknown command: ${key}` }))
  }
}

