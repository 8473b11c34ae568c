import { assert, describe, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, TestClock, TestServices } from "effect"
import { ApiClient, layerHttp } from "../../src/client/ApiClient.ts"
import { layerWebSocketNode } from "../../src/client/NodeApiClient.ts"
import type { CaseDetail, CasePage, InvestigationDetail, RiuPage } from "../../src/domain/Reads.ts"
import { codeOf, loginReply, type Reply, send, tokensOf } from "../support/Http.ts"
import { failureCode, postRpc, request } from "../support/RawRpc.ts"
import { type CaseTreeFixture, seedCaseTree } from "../support/ReadFixtures.ts"
import { BaseUrl, createOrganization, password, ServerTest, testStart, type TestUser, uniqueSlug } from "../support/TestApp.ts"

const everyRole = ["ADMIN", "INVESTIGATOR", "VIEWER", "OPS"] as const

/** An organization with a user of every role (OPS included), at testStart. */
const organization = Effect.suspend(() =>
  Effect.zipRight(TestClock.setTime(testStart), Effect.map(createOrganization(uniqueSlug("reads"), everyRole), (org) => org.users))
)

const tokenOf = (user: TestUser) => Effect.map(loginReply(user), (reply) => tokensOf(reply).accessToken)

const get = (path: string, token: string) => send("GET", path, { token })

const body = <A>(reply: Reply): A => {
  assert.strictEqual(reply.status, 200, reply.text)
  return JSON.parse(reply.text) as A
}

/** The organization's case ids in the list's order, from the table itself. */
const newestCases = (organizationId: string, where: "all" | { readonly status: string } = "all") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string }>`
      SELECT id FROM cases WHERE organization_id = ${organizationId} ${where === "all" ? sql`` : sql`AND status = ${where.status}`}
       ORDER BY created_at DESC, id DESC`).pipe(Effect.map((rows) => rows.map((row) => row.id)), Effect.orDie)

/** Every page of a list, following nextCursor. */
const walk = <P extends { readonly nextCursor: string | null }>(path: (cursor: string | null) => string, token: string, items: (page: P) => ReadonlyArray<{ readonly id: string }>) =>
  Effect.gen(function* () {
    const ids: Array<string> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: P = body<P>(yield* get(path(cursor), token))
      ids.push(...items(page).map((item) => item.id))
      cursor = page.nextCursor
      pages++
    } while (cursor !== null && pages < 100)
    return { ids, pages }
  })

const overHttp = Layer.unwrapEffect(Effect.map(BaseUrl, (baseUrl) => layerHttp({ baseUrl })))
const overWebSocket = Layer.unwrapEffect(Effect.map(BaseUrl, (baseUrl) => layerWebSocketNode({ baseUrl })))

const rpcLogin = (user: TestUser) => Effect.flatMap(ApiClient, (api) => api.login({ email: user.email, password, organization: user.organization }))

describe("read API", () => {
  layer(ServerTest(), { timeout: 120_000 })((it) => {
    it.effect("GET /cases/:id answers the case with its whole tree", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree: CaseTreeFixture = yield* seedCaseTree(users, { cases: 1, investigationsPerCase: 2, notesPerInvestigation: 2, notesPerCase: 2 })
        const reply = body<{ case: CaseDetail }>(yield* get(`/cases/${tree.cases[0]!.id}`, yield* tokenOf(users.VIEWER)))
        const found = reply.case
        const user = (u: TestUser) => ({ id: u.id, displayName: `${u.role} of ${u.organization}`, role: u.role })
        assert.strictEqual(found.id, tree.cases[0]!.id)
        assert.deepStrictEqual([found.status, found.priority], ["NEW", "LOW"])
        assert.deepStrictEqual(found.creator, user(users.ADMIN))
        assert.strictEqual(found.category?.id, tree.categories[0])
        assert.deepStrictEqual(found.rius.map((riu) => [riu.id, riu.kind, riu.status]), [[tree.rius[0]!, "WEB_FORM", "LINKED"]])
        assert.deepStrictEqual(found.investigations.map((i) => i.id).sort(), tree.investigations.map((i) => i.id).sort())
        assert.deepStrictEqual(
          found.investigations.map((i) => i.primaryInvestigator).sort((a, b) => (a === null ? 1 : b === null ? -1 : 0)),
          [user(users.INVESTIGATOR), null]
        )
        assert.deepStrictEqual(found.investigations.map((i) => i.notes.map((note) => [note.body, note.author.id])), [
          [["note 0", users.ADMIN.id], ["note 1", users.VIEWER.id]],
          [["note 0", users.ADMIN.id], ["note 1", users.VIEWER.id]]
        ])
        assert.deepStrictEqual(found.notes.map((note) => [note.body, note.author]), [["case note 0", user(users.VIEWER)], ["case note 1", user(users.ADMIN)]])
      }))

    it.effect("GET /cases/:id answers a case with no category, investigations or notes", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 3, investigationsPerCase: 0, notesPerCase: 0 })
        const bare = tree.cases[2]!
        assert.isNull(bare.categoryId)
        const found = body<{ case: CaseDetail }>(yield* get(`/cases/${bare.id}`, yield* tokenOf(users.ADMIN))).case
        assert.deepStrictEqual([found.category, found.investigations, found.notes, found.rius.length], [null, [], [], 1])
      }))

    it.effect("GET /cases lists each case with creator, category, RIU links and investigations with their leads", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 3 })
        const page = body<CasePage>(yield* get("/cases", yield* tokenOf(users.INVESTIGATOR)))
        assert.deepStrictEqual(page.cases.map((c) => c.id), yield* newestCases(tree.organizationId))
        assert.strictEqual(page.nextCursor, null)
        const [first] = page.cases
        assert.deepStrictEqual(Object.keys(first!).sort(), ["category", "createdAt", "creator", "id", "investigations", "priority", "reference", "rius", "status", "title"])
        assert.deepStrictEqual(page.cases.map((c) => c.creator.id).sort(), [users.ADMIN.id, users.ADMIN.id, users.INVESTIGATOR.id].sort())
        assert.deepStrictEqual(page.cases.map((c) => c.category === null).sort(), [false, false, true])
        assert.isTrue(page.cases.every((c) => c.rius.length === 1 && c.investigations.length === 1))
        assert.deepStrictEqual(page.cases.map((c) => c.investigations[0]!.primaryInvestigator?.id ?? null).sort(), [null, users.INVESTIGATOR.id, users.INVESTIGATOR.id].sort())
      }))

    it.effect("GET /cases filters by status, priority and category", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 12 })
        const token = yield* tokenOf(users.ADMIN)
        const ids = (cases: ReadonlyArray<{ readonly id: string }>) => cases.map((c) => c.id).sort()
        const byStatus = body<CasePage>(yield* get("/cases?status=OPEN", token))
        assert.deepStrictEqual(ids(byStatus.cases), ids(tree.cases.filter((c) => c.status === "OPEN")))
        const byPriority = body<CasePage>(yield* get("/cases?priority=CRITICAL", token))
        assert.deepStrictEqual(ids(byPriority.cases), ids(tree.cases.filter((c) => c.priority === "CRITICAL")))
        const byCategory = body<CasePage>(yield* get(`/cases?categoryId=${tree.categories[1]}`, token))
        assert.deepStrictEqual(ids(byCategory.cases), ids(tree.cases.filter((c) => c.categoryId === tree.categories[1])))
        assert.isAbove(byCategory.cases.length, 0)
      }))

    it.effect("GET /cases walks every page once, newest first, with rows of equal created_at split across pages", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 31, sameInstant: 5 })
        // Microseconds apart: a cursor of milliseconds would skip or repeat these.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE cases SET created_at = created_at + (right(reference, 1)::int * interval '1 microsecond')
                    WHERE organization_id = ${tree.organizationId} AND (reference LIKE '%3' OR reference LIKE '%7')`
        const token = yield* tokenOf(users.VIEWER)
        const all = yield* walk<CasePage>((cursor) => `/cases?limit=4${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`, token, (p) => p.cases)
        assert.deepStrictEqual(all.ids, yield* newestCases(tree.organizationId))
        assert.strictEqual(all.pages, 8)
        const open = yield* walk<CasePage>((cursor) => `/cases?status=OPEN&limit=2${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`, token, (p) => p.cases)
        assert.deepStrictEqual(open.ids, yield* newestCases(tree.organizationId, { status: "OPEN" }))
      }))

    it.effect("GET /rius walks every page once, newest first, each RIU with its cases, and filters by status", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 9, sameInstant: 3 })
        const token = yield* tokenOf(users.ADMIN)
        const all = yield* walk<RiuPage>((cursor) => `/rius?limit=3${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`, token, (p) => p.rius)
        assert.strictEqual(all.ids.length, 10)
        assert.deepStrictEqual([...all.ids].sort(), [...tree.rius].sort())
        const page = body<RiuPage>(yield* get("/rius?limit=100", token))
        assert.deepStrictEqual(page.rius.map((riu) => riu.id), all.ids)
        const linked = page.rius.find((riu) => riu.id === tree.rius[0])
        assert.deepStrictEqual(linked?.caseIds, [tree.cases[0]!.id])
        const received = body<RiuPage>(yield* get("/rius?status=RECEIVED", token))
        assert.deepStrictEqual(received.rius.map((riu) => [riu.id, riu.caseIds.length]), [[tree.rius[9]!, 0]])
      }))

    it.effect("GET /investigations/:id answers the investigation with its lead and notes", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 1, notesPerInvestigation: 3 })
        const investigation = tree.investigations[0]!
        const reply = body<{ investigation: InvestigationDetail }>(yield* get(`/investigations/${investigation.id}`, yield* tokenOf(users.INVESTIGATOR)))
        assert.deepStrictEqual(
          { ...reply.investigation, notes: reply.investigation.notes.map((note) => [note.body, note.author.id]) },
          {
            id: investigation.id,
            caseId: investigation.caseId,
            status: "OPEN",
            primaryInvestigator: { id: users.INVESTIGATOR.id, displayName: `INVESTIGATOR of ${users.INVESTIGATOR.organization}`, role: "INVESTIGATOR" },
            notes: [["note 0", users.ADMIN.id], ["note 1", users.VIEWER.id], ["note 2", users.ADMIN.id]]
          }
        )
      }))

    it.effect("ids of another organization are NOT_FOUND and its rows never listed", () =>
      Effect.gen(function* () {
        const mine = yield* organization
        const theirs = (yield* createOrganization(uniqueSlug("other"))).users
        const tree = yield* seedCaseTree(theirs, { cases: 2 })
        const token = yield* tokenOf(mine.ADMIN)
        const replies = [
          yield* get(`/cases/${tree.cases[0]!.id}`, token),
          yield* get(`/investigations/${tree.investigations[0]!.id}`, token),
          yield* get(`/cases/${crypto.randomUUID()}`, token)
        ]
        assert.deepStrictEqual(replies.map((r) => [r.status, codeOf(r)]), replies.map(() => [404, "NOT_FOUND"]))
        assert.deepStrictEqual(body<CasePage>(yield* get(`/cases?categoryId=${tree.categories[0]}`, token)).cases, [])
        assert.deepStrictEqual(body<CasePage>(yield* get("/cases", token)).cases, [])
        assert.deepStrictEqual(body<RiuPage>(yield* get("/rius", token)).rius, [])
      }))

    it.effect("OPS is FORBIDDEN on every read route", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 1 })
        const token = yield* tokenOf(users.OPS)
        const paths = ["/cases", `/cases/${tree.cases[0]!.id}`, `/investigations/${tree.investigations[0]!.id}`, "/rius"]
        const replies = yield* Effect.forEach(paths, (path) => get(path, token))
        assert.deepStrictEqual(replies.map((r) => [r.status, codeOf(r)]), paths.map(() => [403, "FORBIDDEN"]))
      }))

    it.effect("malformed ids, limits and cursors are 400 VALIDATION_ERROR", () =>
      Effect.gen(function* () {
        const users = yield* organization
        yield* seedCaseTree(users, { cases: 3 })
        const token = yield* tokenOf(users.VIEWER)
        const riuCursor = body<RiuPage>(yield* get("/rius?limit=1", token)).nextCursor!
        const caseCursor = body<CasePage>(yield* get("/cases?limit=1", token)).nextCursor!
        const forged = `c.${Buffer.from(JSON.stringify({ at: "yesterday", id: "x" })).toString("base64url")}`
        const paths = [
          "/cases/not-a-uuid",
          "/investigations/123",
          "/cases?limit=0",
          "/cases?limit=101",
          "/cases?status=SHELVED",
          "/cases?categoryId=nope",
          "/rius?status=LOST",
          "/cases?cursor=garbage",
          `/cases?cursor=${encodeURIComponent(forged)}`,
          `/cases?cursor=${encodeURIComponent(riuCursor)}`,
          `/rius?cursor=${encodeURIComponent(caseCursor)}`
        ]
        const replies = yield* Effect.forEach(paths, (path) => get(path, token))
        assert.deepStrictEqual(replies.map((r) => [r.status, codeOf(r)]), paths.map(() => [400, "VALIDATION_ERROR"]))
        assert.include(JSON.parse(replies[7]!.text).message, "cursor")
      }))

    it.effect("the read routes need a token and are declared in /openapi.json", () =>
      Effect.gen(function* () {
        const reply = yield* send("GET", "/cases")
        assert.deepStrictEqual([reply.status, codeOf(reply)], [401, "UNAUTHORIZED"])
        const document = JSON.parse((yield* send("GET", "/openapi.json")).text) as { readonly paths: Record<string, Record<string, unknown>> }
        for (const path of ["/cases", "/cases/{id}", "/investigations/{id}", "/rius"]) {
          assert.property(document.paths[path] ?? {}, "get", path)
        }
      }))

    it.effect("a second request reads fresh rows, never the first one's answers", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const tree = yield* seedCaseTree(users, { cases: 1 })
        const token = yield* tokenOf(users.VIEWER)
        const path = `/cases/${tree.cases[0]!.id}`
        assert.strictEqual(body<{ case: CaseDetail }>(yield* get(path, token)).case.creator.displayName, `ADMIN of ${users.ADMIN.organization}`)
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE users SET display_name = 'Renamed admin' WHERE id = ${users.ADMIN.id}`
        assert.strictEqual(body<{ case: CaseDetail }>(yield* get(path, token)).case.creator.displayName, "Renamed admin")
      }))

    it.effect("a raw RPC call with a malformed id or limit is answered with a failure, never left hanging", () =>
      Effect.gen(function* () {
        const users = yield* organization
        const token = yield* tokenOf(users.VIEWER)
        const auth: ReadonlyArray<[string, string]> = [["authorization", `Bearer ${token}`]]
        const answer = yield* postRpc(yield* BaseUrl, [
          request(1, "Cases.Get", { id: "not-a-uuid" }, auth),
          request(2, "Cases.List", { limit: 0 }, auth),
          request(3, "Investigations.Get", { id: 42 }, auth),
          request(4, "Rius.List", { cursor: "r.garbage" }, auth)
        ]).pipe(TestServices.provideLive, Effect.timeout(Duration.seconds(10)))
        const exits = answer.messages.filter((message) => message._tag === "Exit")
        assert.deepStrictEqual(exits.map((message) => [message.requestId, message.exit?._tag]).sort(), [
          ["1", "Failure"],
          ["2", "Failure"],
          ["3", "Failure"],
          ["4", "Failure"]
        ])
        assert.strictEqual(failureCode(exits.find((message) => message.requestId === "4")!), "VALIDATION_ERROR")
      }))

    const rpcChecks = (transport: string, client: typeof overHttp) => {
      it.effect(`${transport}: Cases.List, Cases.Get, Investigations.Get and Rius.List answer the caller's organization`, () =>
        Effect.gen(function* () {
          const users = yield* organization
          const tree = yield* seedCaseTree(users, { cases: 3 })
          yield* rpcLogin(users.INVESTIGATOR)
          const api = yield* ApiClient
          const page = yield* api.call((rpc) => rpc.Cases.List({ limit: 2 }))
          assert.deepStrictEqual(page.cases.map((c) => c.id), (yield* newestCases(tree.organizationId)).slice(0, 2))
          const next = yield* api.call((rpc) => rpc.Cases.List({ limit: 2, cursor: page.nextCursor! }))
          assert.deepStrictEqual([next.cases.length, next.nextCursor], [1, null])
          const one = yield* api.call((rpc) => rpc.Cases.Get({ id: tree.cases[1]!.id }))
          assert.strictEqual(one.case.notes.length, 1)
          const investigation = yield* api.call((rpc) => rpc.Investigations.Get({ id: tree.investigations[0]!.id }))
          assert.strictEqual(investigation.investigation.caseId, tree.investigations[0]!.caseId)
          const rius = yield* api.call((rpc) => rpc.Rius.List({ status: "LINKED" }))
          assert.strictEqual(rius.rius.length, 3)
        }).pipe(Effect.provide(client)))

      it.effect(`${transport}: ids of another organization are NotFoundError`, () =>
        Effect.gen(function* () {
          const users = yield* organization
          const theirs = (yield* createOrganization(uniqueSlug("other"))).users
          const tree = yield* seedCaseTree(theirs, { cases: 1 })
          yield* rpcLogin(users.ADMIN)
          const api = yield* ApiClient
          const errors = [
            yield* Effect.flip(api.call((rpc) => rpc.Cases.Get({ id: tree.cases[0]!.id }))),
            yield* Effect.flip(api.call((rpc) => rpc.Investigations.Get({ id: tree.investigations[0]!.id })))
          ]
          assert.deepStrictEqual(errors.map((e) => [e._tag, "code" in e ? e.code : undefined]), [["NotFoundError", "NOT_FOUND"], ["NotFoundError", "NOT_FOUND"]])
        }).pipe(Effect.provide(client)))

      it.effect(`${transport}: OPS gets ForbiddenError from every read procedure, and a bad cursor is ValidationError`, () =>
        Effect.gen(function* () {
          const users = yield* organization
          const tree = yield* seedCaseTree(users, { cases: 1 })
          yield* rpcLogin(users.OPS)
          const api = yield* ApiClient
          const errors = [
            yield* Effect.flip(api.call((rpc) => rpc.Cases.List({}))),
            yield* Effect.flip(api.call((rpc) => rpc.Cases.Get({ id: tree.cases[0]!.id }))),
            yield* Effect.flip(api.call((rpc) => rpc.Investigations.Get({ id: tree.investigations[0]!.id }))),
            yield* Effect.flip(api.call((rpc) => rpc.Rius.List({})))
          ]
          assert.deepStrictEqual(errors.map((e) => e._tag), ["ForbiddenError", "ForbiddenError", "ForbiddenError", "ForbiddenError"])
          yield* rpcLogin(users.VIEWER)
          const invalid = yield* Effect.flip(api.call((rpc) => rpc.Cases.List({ cursor: "c.bm90LWpzb24" })))
          assert.deepStrictEqual([invalid._tag, "code" in invalid ? invalid.code : undefined], ["ValidationError", "VALIDATION_ERROR"])
        }).pipe(Effect.provide(client)))

      it.effect(`${transport}: Auth.Me reads the caller through the users loader, fresh on every call`, () =>
        Effect.gen(function* () {
          const users = yield* organization
          yield* rpcLogin(users.VIEWER)
          const api = yield* ApiClient
          assert.strictEqual((yield* api.call((rpc) => rpc.Auth.Me())).displayName, `VIEWER of ${users.VIEWER.organization}`)
          const sql = yield* SqlClient.SqlClient
          yield* sql`UPDATE users SET display_name = 'New name' WHERE id = ${users.VIEWER.id}`
          assert.strictEqual((yield* api.call((rpc) => rpc.Auth.Me())).displayName, "New name")
        }).pipe(Effect.provide(client)))
    }

    rpcChecks("over HTTP", overHttp)
    rpcChecks("over WebSocket", overWebSocket)
  })
})
