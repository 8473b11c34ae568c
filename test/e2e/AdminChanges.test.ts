import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { Auth } from "../../services/Auth.ts"
import { Sessions } from "../../services/Sessions.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { BaseUrl, createOrganization, InstanceTest, password, ServerTest, uniqueSlug } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const client = { ip: "198.51.100.31", userAgent: "vitest" }

/** Two instances over one database; organizations are made on A. */
const twoInstances = Effect.gen(function* () {
  const url = yield* scopedDatabase()
  const a = yield* Layer.build(InstanceTest(url))
  const b = yield* Layer.build(InstanceTest(url))
  return { a, b, authB: Context.get(b, Auth) }
})

const rejectedWithin = <A, E extends { readonly code: string }>(check: Effect.Effect<A, E>, seconds: number) =>
  Effect.flip(check).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(seconds)))),
    Effect.map((error) => error.code)
  )

const loginOn = (context: Context.Context<Sessions>, email: string, organization: string) =>
  Context.get(context, Sessions).login({ email, password: Redacted.make(password), organization }, client)

describe("organization and role changes", () => {
  it.scopedLive("suspending an organization on one instance is refused on another within 1 s; reactivation revives no old session", () =>
    Effect.gen(function* () {
      const { a, authB } = yield* twoInstances
      const slug = uniqueSlug("suspend")
      const { organizationId, users } = yield* createOrganization(slug, ["ADMIN", "VIEWER"]).pipe(Effect.provide(a))
      const operator = yield* createOrganization(uniqueSlug("operator"), ["OPS"]).pipe(Effect.provide(a))
      const viewer = yield* loginOn(a, users.VIEWER.email, slug)
      yield* authB.verify(viewer.accessToken)
      const ops = yield* Context.get(a, Auth).verify((yield* loginOn(a, operator.users.OPS.email, operator.users.OPS.organization)).accessToken)
      const admin = Context.get(a, UserAdmin)
      yield* admin.suspendOrganization(ops, organizationId, client)
      assert.strictEqual(yield* rejectedWithin(authB.verify(viewer.accessToken), 1), "USER_INACTIVE")
      assert.strictEqual((yield* Effect.flip(loginOn(a, users.VIEWER.email, slug))).code, "USER_INACTIVE")
      yield* admin.activateOrganization(ops, organizationId, client)
      assert.strictEqual((yield* Effect.flip(authB.verify(viewer.accessToken))).code, "SESSION_REVOKED")
      assert.strictEqual((yield* Effect.flip(Context.get(a, Sessions).refresh(Redacted.make(viewer.refreshToken), client))).code, "SESSION_REVOKED")
      const again = yield* loginOn(a, users.VIEWER.email, slug)
      assert.strictEqual((yield* authB.verify(again.accessToken)).userId, users.VIEWER.id)
    }), { timeout: 60_000 })

  it.scopedLive("a role changed on one instance stops the old tokens on another within 1 s", () =>
    Effect.gen(function* () {
      const { a, authB } = yield* twoInstances
      const slug = uniqueSlug("role")
      const { users } = yield* createOrganization(slug, ["ADMIN", "VIEWER"]).pipe(Effect.provide(a))
      const viewer = yield* loginOn(a, users.VIEWER.email, slug)
      yield* authB.verify(viewer.accessToken)
      const admin = yield* Context.get(a, Auth).verify((yield* loginOn(a, users.ADMIN.email, slug)).accessToken)
      yield* Context.get(a, UserAdmin).setRole(admin, users.VIEWER.id, "INVESTIGATOR", client)
      assert.strictEqual(yield* rejectedWithin(authB.verify(viewer.accessToken), 1), "SESSION_REVOKED")
      const fresh = yield* loginOn(a, users.VIEWER.email, slug)
      assert.strictEqual((yield* authB.verify(fresh.accessToken)).role, "INVESTIGATOR")
    }), { timeout: 60_000 })

  layer(ServerTest(), { timeout: 60_000, excludeTestServices: true })((it) => {
    const call = (path: string, token: string, body?: unknown) =>
      Effect.flatMap(BaseUrl, (baseUrl) =>
        Effect.promise(async () => {
          const response = await fetch(`${baseUrl}${path}`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
          })
          const text = await response.text()
          return { status: response.status, code: text === "" ? undefined : (JSON.parse(text) as { code: string }).code }
        }))
    const tokenOf = (email: string, organization: string) =>
      Effect.flatMap(Sessions, (sessions) => sessions.login({ email, password: Redacted.make(password), organization }, client)).pipe(
        Effect.map((pair) => pair.accessToken)
      )

    it.effect("POST /auth/users/:id/role: an ADMIN changes a colleague's role; not their own, not as a VIEWER, not across organizations", () =>
      Effect.gen(function* () {
        const slug = uniqueSlug("roles")
        const { users } = yield* createOrganization(slug)
        const other = yield* createOrganization(uniqueSlug("elsewhere"))
        const admin = yield* tokenOf(users.ADMIN.email, slug)
        assert.deepStrictEqual(yield* call(`/auth/users/${users.VIEWER.id}/role`, admin, { role: "INVESTIGATOR" }), { status: 204, code: undefined })
        assert.deepStrictEqual(yield* call(`/auth/users/${users.ADMIN.id}/role`, admin, { role: "VIEWER" }), { status: 403, code: "FORBIDDEN" })
        assert.deepStrictEqual(yield* call(`/auth/users/${other.users.VIEWER.id}/role`, admin, { role: "ADMIN" }), { status: 404, code: "NOT_FOUND" })
        assert.deepStrictEqual(yield* call(`/auth/users/${users.VIEWER.id}/role`, admin, { role: "ROOT" }), { status: 400, code: "VALIDATION_ERROR" })
        const investigator = yield* tokenOf(users.INVESTIGATOR.email, slug)
        assert.deepStrictEqual(yield* call(`/auth/users/${users.VIEWER.id}/role`, investigator, { role: "ADMIN" }), { status: 403, code: "FORBIDDEN" })
      }))

    it.effect("POST /ops/organizations/:id/suspend and /activate are for OPS staff only", () =>
      Effect.gen(function* () {
        const slug = uniqueSlug("tenant")
        const { organizationId, users } = yield* createOrganization(slug)
        const operatorSlug = uniqueSlug("operator")
        const operator = yield* createOrganization(operatorSlug, ["OPS"])
        const admin = yield* tokenOf(users.ADMIN.email, slug)
        assert.deepStrictEqual(yield* call(`/ops/organizations/${organizationId}/suspend`, admin), { status: 403, code: "FORBIDDEN" })
        const ops = yield* tokenOf(operator.users.OPS.email, operatorSlug)
        assert.deepStrictEqual(yield* call(`/ops/organizations/${organizationId}/suspend`, ops), { status: 204, code: undefined })
        assert.deepStrictEqual(yield* call(`/auth/users/${users.VIEWER.id}/deactivate`, admin), { status: 403, code: "USER_INACTIVE" })
        assert.deepStrictEqual(yield* call(`/ops/organizations/${organizationId}/activate`, ops), { status: 204, code: undefined })
        assert.deepStrictEqual(yield* call(`/auth/users/${users.VIEWER.id}/deactivate`, admin), { status: 401, code: "SESSION_REVOKED" })
        assert.deepStrictEqual(yield* call(`/ops/organizations/00000000-0000-4000-8000-000000000000/suspend`, ops), { status: 404, code: "NOT_FOUND" })
      }))
  })
})
