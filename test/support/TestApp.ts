import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Context, Effect, Layer, Redacted, TestClock } from "effect"
import { exportPKCS8, generateKeyPair } from "jose"
import { MainLive } from "../../layers/Main.ts"
import type { OrganizationId, UserId } from "../../src/domain/Ids.ts"
import type { Role } from "../../src/domain/Roles.ts"
import { Directory } from "../../services/Directory.ts"
import { scopedDatabase } from "./TestDatabase.ts"

/** One signing key per test file (no files written), shared by every instance a test starts. */
let keyPem: Promise<string> | undefined
const testKey = Effect.promise(() => (keyPem ??= generateKeyPair("ES256", { extractable: true }).then(({ privateKey }) => exportPKCS8(privateKey))))

/** Test configuration over the environment; `overrides` win. */
export const TestConfig = (overrides: Readonly<Record<string, string>> = {}) =>
  Layer.unwrapEffect(
    Effect.map(testKey, (privateKey) =>
      Layer.setConfigProvider(
        ConfigProvider.fromMap(
          new Map(Object.entries({ JWT_PRIVATE_KEY: privateKey, HOST: "127.0.0.1", PORT: "0", SEED_DEMO: "false", ...overrides }))
        ).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
      )
    )
  )

/** The base URL of an instance's HTTP server. */
export class BaseUrl extends Context.Tag("test/BaseUrl")<BaseUrl, string>() {}

const baseUrl = Layer.effect(BaseUrl, HttpServer.addressFormattedWith(Effect.succeed))

/**
 * The layer every test server is: the very MainLive that src/main.ts launches, given test configuration
 * and nothing else (a test checks it is the same object).
 */
export const TestedLayer = MainLive

/**
 * One instance of the application (TestedLayer: HTTP on a free port, every service exposed for
 * direct checks) over the database at `url`; several instances of a test share one database.
 * `around` is built first and changes nothing of the application: it sets fiber refs the application
 * inherits (test/support/StatementLog.ts records every statement that way).
 */
export const InstanceTest = (url: Redacted.Redacted<string>, overrides: Readonly<Record<string, string>> = {}, around: Layer.Layer<never> = Layer.empty) =>
  baseUrl.pipe(Layer.provideMerge(TestedLayer), Layer.provide(around), Layer.provide(TestConfig({ DATABASE_URL: Redacted.value(url), ...overrides })))

/** One instance over a database of the test file's own (a copy of the migrated template). */
export const ServerTest = (overrides: Readonly<Record<string, string>> = {}, around: Layer.Layer<never> = Layer.empty) =>
  Layer.unwrapScoped(Effect.map(scopedDatabase(), (url) => InstanceTest(url, overrides, around)))

export const password = "correct horse battery staple"

/** The instant time-based tests start at (TestClock starts at 0). */
export const testStart = Date.parse("2026-11-26T12:00:00Z")

/** A slug no other test of the file uses. */
export const uniqueSlug = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`

export interface TestUser {
  readonly id: UserId
  readonly organizationId: OrganizationId
  readonly email: string
  readonly organization: string
  readonly role: Role
}

/** An organization with one user of each role listed; emails are `<role>@<slug>.example`. */
export const createOrganization = (slug: string, roles: ReadonlyArray<Role> = ["ADMIN", "INVESTIGATOR", "VIEWER"]) =>
  Effect.gen(function* () {
    const directory = yield* Directory
    const organizationId = yield* directory.createOrganization({ slug, name: slug.toUpperCase() })
    const users: Partial<Record<Role, TestUser>> = {}
    for (const role of roles) {
      const email = `${role.toLowerCase()}@${slug}.example`
      const id = yield* directory.createUser({ organizationSlug: slug, email, role, displayName: `${role} of ${slug}`, password: Redacted.make(password) })
      users[role] = { id, organizationId, email, organization: slug, role }
    }
    return { organizationId, users: users as Record<Role, TestUser> }
  }).pipe(Effect.orDie)

/** The clock at testStart and a new organization with one user of each role. */
export const freshOrganization = Effect.gen(function* () {
  yield* TestClock.setTime(testStart)
  return (yield* createOrganization(uniqueSlug("acme"))).users
})

/** Live (neither rotated nor revoked) refresh tokens of a session. */
export const liveTokens = (sessionId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string }>`SELECT id FROM auth_refresh_tokens WHERE session_id = ${sessionId} AND rotated_at IS NULL AND revoked_at IS NULL`
  ).pipe(Effect.orDie)
