import { Effect, Layer, Redacted } from "effect"
import * as Crypto from "node:crypto"
import pg from "pg"
import { inject } from "vitest"
import { PgLive } from "../../layers/DatabaseLive.ts"
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
