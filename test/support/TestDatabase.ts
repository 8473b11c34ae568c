import { Effect, Layer, Redacted } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import { inject } from "vitest"
import { PgLive } from "../../layers/DatabaseLive.ts"
import type { EmbeddedPostgresOptions } from "../../layers/EmbeddedPostgres.ts"
import { DatabaseUrl } from "../../services/Database.ts"

/** Runs statements on the test server's maintenance database. */
export const adminQuery = (statement: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: inject("databaseAdminUrl") })
    await client.connect()
    try {
      return (await client.query(statement)).rows
    } finally {
      await client.end()
    }
  })

/**
 * A database of its own for the caller's scope: a copy of the migrated template, or empty
 * (`template: "template0"`, for migration tests). Dropped when the scope closes.
 */
export const scopedDatabase = (template: string = inject("templateDatabase")) =>
  Effect.gen(function* () {
    const name = `casecore_test_${process.ppid}_${Crypto.randomBytes(6).toString("hex")}`
    yield* Effect.acquireRelease(adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`), () =>
      adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore)
    )
    const url = new URL(inject("databaseAdminUrl"))
    url.pathname = `/${name}`
    return Redacted.make(url.toString())
  })

/** PgClient + SqlClient + DatabaseUrl on a migrated database of this test file's own. */
export const TestDatabaseLive = PgLive.pipe(Layer.provideMerge(Layer.scoped(DatabaseUrl, scopedDatabase())))

/** A TCP port on 127.0.0.1 that was free a moment ago (to start a server on the same port again). */
export const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * Options for an embedded PostgreSQL of the test's own, to stop and start again on the same port: a
 * temporary directory (named after `prefix`, removed when the scope closes) and a free port.
 */
export const restartableServerOptions = (prefix: string) =>
  Effect.gen(function* () {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
    Fs.chmodSync(dataDir, 0o755)
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
    const options: EmbeddedPostgresOptions = { dataDir: Path.join(dataDir, "pg"), port: yield* freePort, settings: { fsync: "off" } }
    return options
  })
