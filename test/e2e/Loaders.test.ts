import { assert, describe, layer } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Option, TestServices } from "effect"
import type { UserId } from "../../src/domain/Ids.ts"
import { Loaders } from "../../services/Loaders.ts"
import { SqlClient } from "@effect/sql"
import { seedCaseTree } from "../support/ReadFixtures.ts"
import { makeStatementLog } from "../support/StatementLog.ts"
import { createOrganization, ServerTest, uniqueSlug } from "../support/TestApp.ts"
import { RequestCacheHttp, withRequestScopedCache } from "../../layers/RequestCache.ts"
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"

const log = makeStatementLog()

const twoOrganizations = Effect.suspend(() => Effect.zip(createOrganization(uniqueSlug("a")), createOrganization(uniqueSlug("b"))))

describe("loaders", () => {
  layer(ServerTest({}, log.layer), { timeout: 60_000 })((it) => {
    it.effect("two organizations' lookups in one batch run as one statement and never merge", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a, b] = yield* twoOrganizations
        const [[fromA, fromB], statements] = yield* log.during(Effect.all([
          loaders.users(a.organizationId, [a.users.ADMIN.id, a.users.VIEWER.id]),
          // B asks for its own admin and for A's admin: A's row must not come back to B.
          loaders.users(b.organizationId, [b.users.ADMIN.id, a.users.ADMIN.id])
        ], { batching: true }))
        assert.strictEqual(statements.length, 1)
        // One statement over the batch's organizations and ids (each once); rows are grouped by their own organization.
        assert.deepStrictEqual(statements[0]!.params, [
          [a.organizationId, b.organizationId],
          [a.users.ADMIN.id, a.users.VIEWER.id, b.users.ADMIN.id]
        ])
        assert.deepStrictEqual([...fromA.keys()].sort(), [a.users.ADMIN.id, a.users.VIEWER.id].sort())
        assert.deepStrictEqual([...fromB.keys()], [b.users.ADMIN.id])
        assert.strictEqual(fromB.get(b.users.ADMIN.id)?.organizationId, b.organizationId)
      }))

    it.effect("children by parent in one batch stay with their organization", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a, b] = yield* twoOrganizations
        const treeA = yield* seedCaseTree(a.users, { cases: 2 })
        const treeB = yield* seedCaseTree(b.users, { cases: 2 })
        const caseA = treeA.cases[0]!.id
        const caseB = treeB.cases[0]!.id
        const [[ofA, ofB], statements] = yield* log.during(Effect.all([
          loaders.investigationsOfCases(a.organizationId, [caseA, caseB]),
          loaders.investigationsOfCases(b.organizationId, [caseB, caseA])
        ], { batching: true }))
        assert.strictEqual(statements.length, 1)
        assert.deepStrictEqual([...ofA.keys()], [caseA])
        assert.deepStrictEqual([...ofB.keys()], [caseB])
        assert.isTrue([...ofB.values()].flat().every((row) => row.organizationId === b.organizationId))
      }))

    it.effect("duplicate ids and empty lists return normally, and an empty list issues no statement", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a] = yield* twoOrganizations
        const admin = a.users.ADMIN.id
        const [[twice, none, cases], statements] = yield* log.during(Effect.all([
          loaders.users(a.organizationId, [admin, admin, admin]),
          loaders.users(a.organizationId, []),
          loaders.cases(a.organizationId, [])
        ], { batching: true }))
        assert.deepStrictEqual([...twice.keys()], [admin])
        assert.strictEqual(none.size, 0)
        assert.strictEqual(cases.size, 0)
        assert.strictEqual(statements.length, 1)
        assert.deepStrictEqual(statements[0]!.params, [[a.organizationId], [admin]])
        const [, nothing] = yield* log.during(loaders.notesOfCases(a.organizationId, []))
        assert.strictEqual(nothing.length, 0)
      }))

    it.effect("every loader answers rows of the asking organization only", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a, b] = yield* twoOrganizations
        const tree = yield* seedCaseTree(a.users, { cases: 3 })
        const org = b.organizationId
        const caseIds = tree.cases.map((c) => c.id)
        const investigationIds = tree.investigations.map((i) => i.id)
        const results = yield* Effect.all([
          loaders.organizations(org, [a.organizationId]),
          loaders.categories(org, tree.categories),
          loaders.cases(org, caseIds),
          loaders.investigations(org, investigationIds),
          loaders.rius(org, tree.rius),
          loaders.riuLinksOfCases(org, caseIds),
          loaders.caseLinksOfRius(org, tree.rius),
          loaders.investigationsOfCases(org, caseIds),
          loaders.notesOfInvestigations(org, investigationIds),
          loaders.notesOfCases(org, caseIds),
          loaders.users(org, [a.users.ADMIN.id])
        ], { batching: true })
        assert.deepStrictEqual(results.map((map) => map.size), results.map(() => 0))
        const own = yield* Effect.all([
          loaders.organizations(a.organizationId, [a.organizationId]),
          loaders.categories(a.organizationId, tree.categories),
          loaders.cases(a.organizationId, caseIds),
          loaders.investigations(a.organizationId, investigationIds),
          loaders.rius(a.organizationId, tree.rius),
          loaders.riuLinksOfCases(a.organizationId, caseIds),
          loaders.caseLinksOfRius(a.organizationId, tree.rius),
          loaders.investigationsOfCases(a.organizationId, caseIds),
          loaders.notesOfInvestigations(a.organizationId, investigationIds),
          loaders.notesOfCases(a.organizationId, caseIds)
        ], { batching: true })
        assert.deepStrictEqual(own.map((map) => map.size), [1, 2, 3, 3, 4, 3, 3, 3, 3, 3])
      }))

    it.effect("a badly encoded request fails with an error, never a hang", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a] = yield* twoOrganizations
        // An id the types would refuse, as a caller that skipped decoding might pass it.
        const bad = "not-a-uuid" as UserId
        // The real clock: the deadline must pass if the batch hangs.
        const exit = yield* TestServices.provideLive(Effect.all([
          loaders.users(a.organizationId, [bad]),
          loaders.users(a.organizationId, [a.users.ADMIN.id])
        ], { batching: true }).pipe(Effect.timeout(Duration.seconds(5)), Effect.exit))
        assert.isTrue(Exit.isFailure(exit))
        const cause = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        assert.include(cause, "UUID")
        assert.notInclude(cause, "TimeoutException")
      }))

    it.effect("single lookups share a request cache within one request, and a fresh cache never sees the last one's answers", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const sql = yield* SqlClient.SqlClient
        const [a] = yield* twoOrganizations
        const viewer = a.users.VIEWER
        const lookTwice = Effect.zipWith(loaders.user(a.organizationId, viewer.id), loaders.user(a.organizationId, viewer.id), (x, y) => [x, y] as const)
        const [[first, again], inOne] = yield* log.during(withRequestScopedCache(lookTwice))
        assert.strictEqual(inOne.length, 1)
        assert.strictEqual(Option.getOrThrow(first).displayName, Option.getOrThrow(again).displayName)
        yield* sql`UPDATE users SET display_name = 'Renamed' WHERE id = ${viewer.id}`
        const [[next], inNext] = yield* log.during(withRequestScopedCache(lookTwice))
        assert.strictEqual(inNext.length, 1)
        assert.strictEqual(Option.getOrThrow(next).displayName, "Renamed")
      }))

    it.scoped("the HTTP middleware gives each request a cache of its own", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a] = yield* twoOrganizations
        const lookTwice = Effect.as(
          Effect.zip(loaders.user(a.organizationId, a.users.ADMIN.id), loaders.user(a.organizationId, a.users.ADMIN.id)),
          HttpServerResponse.empty()
        )
        // A route as layers/Main.ts mounts the API: with RequestCacheHttp provided to it.
        const app = yield* HttpLayerRouter.toHttpEffect(HttpLayerRouter.add("GET", "/twice", lookTwice).pipe(Layer.provide(RequestCacheHttp.layer)))
        const call = app.pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(new Request("http://test/twice"))))
        const [, first] = yield* log.during(call)
        const [, second] = yield* log.during(call)
        assert.deepStrictEqual([first.length, second.length], [1, 1])
      }))

    it.effect("without a request cache every single lookup runs (no process-wide cache)", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const [a] = yield* twoOrganizations
        const lookup = loaders.user(a.organizationId, a.users.ADMIN.id)
        const [, statements] = yield* log.during(Effect.zip(lookup, lookup))
        assert.strictEqual(statements.length, 2)
      }))
  })
})
