import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import type { TestProject } from "vitest/node"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.ts"
import { migrate } from "../../migrations/Migrate.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser URL of the test server (maintenance database). */
    readonly databaseAdminUrl: string
    /** The migrated template every test file's database is copied from. */
    readonly templateDatabase: string
  }
}

const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const admin = async <A>(url: string, f: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/**
 * One PostgreSQL for the run (embedded, in a temp dir, fsync off; or DATABASE_URL), and one migrated
 * template database: each test file copies it into a database of its own (test/support/TestDatabase.ts).
 */
export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const configured = process.env.DATABASE_URL
  const adminUrl =
    configured ??
    Redacted.value(
      (
        await Effect.runPromise(
          EmbeddedPostgres.start({
            dataDir: Fs.mkdtempSync(Path.join(Os.tmpdir(), "casecore-test-pg-")),
            port: 0,
            ephemeral: true,
            settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }
          }).pipe(Scope.extend(scope))
        )
      ).url
    )
  const template = `casecore_template_${process.pid}`
  await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${template}`).then(() => client.query(`CREATE DATABASE ${template}`)))
  await Effect.runPromise(
    migrate().pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(withDatabase(adminUrl, template)) })),
      Logger.withMinimumLogLevel(LogLevel.Warning)
    )
  )
  project.provide("databaseAdminUrl", adminUrl)
  project.provide("templateDatabase", template)

  return async () => {
    await admin(adminUrl, async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2",
        [template, `casecore_test_${process.pid}_%`]
      )
      for (const row of rows) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`)
    }).catch(() => undefined)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    Fs.rmSync(Path.join(Os.tmpdir(), `casecore-test-jwt-${process.pid}.json`), { force: true })
  }
}
