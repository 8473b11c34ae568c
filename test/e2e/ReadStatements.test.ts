import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { ApiClient, layerHttp } from "../../src/client/ApiClient.ts"
import { loginReply, send, tokensOf } from "../support/Http.ts"
import { seedCaseTree } from "../support/ReadFixtures.ts"
import { makeStatementLog, type RecordedStatement } from "../support/StatementLog.ts"
import { BaseUrl, createOrganization, password, ServerTest, testStart, uniqueSlug } from "../support/TestApp.ts"

const log = makeStatementLog()

const overHttp = Layer.unwrapEffect(Effect.map(BaseUrl, (baseUrl) => layerHttp({ baseUrl })))

/** The most statements one read may cost, whatever the size of what it reads (issue 9). */
const ceiling = 8

const isTransactionControl = (statement: RecordedStatement) => /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/i.test(statement.sql)

/** The statements of one HTTP GET, after the same GET warmed the caller's auth status cache. */
const statementsOf = (path: string, token: string) =>
  Effect.gen(function* () {
    const [reply, statements] = yield* log.during(send("GET", path, { token }))
    assert.strictEqual(reply.status, 200, reply.text)
    return statements
  })

describe("statements per read", () => {
  layer(ServerTest({}, log.layer), { timeout: 120_000 })((it) => {
    it.effect("Cases.List costs the same statements at 10 and 100 cases, at most 8, none of them in a transaction", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(testStart)
        const { users } = yield* createOrganization(uniqueSlug("count"))
        yield* seedCaseTree(users, { cases: 120, investigationsPerCase: 2, notesPerInvestigation: 2, notesPerCase: 2 })
        const token = tokensOf(yield* loginReply(users.VIEWER)).accessToken
        yield* send("GET", "/cases?limit=1", { token })
        const ten = yield* statementsOf("/cases?limit=10", token)
        const hundred = yield* statementsOf("/cases?limit=100", token)
        assert.strictEqual(ten.length, hundred.length)
        assert.deepStrictEqual(ten.map((s) => s.sql), hundred.map((s) => s.sql))
        assert.strictEqual(hundred.length, 5)
        assert.isAtMost(hundred.length, ceiling)
        assert.isFalse(hundred.some(isTransactionControl))
        // Every statement ran for the caller's request: nothing else was counted.
        assert.isTrue(hundred.every((s) => s.userId === users.VIEWER.id))
        // One statement per relation carried all 100 cases' ids (the page, then its tree).
        const idsPerStatement = hundred.slice(1).map((s) => (Array.isArray(s.params[1]) ? s.params[1].length : 0))
        assert.isTrue(idsPerStatement.some((count) => count === 100), JSON.stringify(idsPerStatement))
      }))

    it.effect("Cases.Get costs the same statements for a small and a large case, at most 8", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(testStart)
        const { users } = yield* createOrganization(uniqueSlug("count"))
        const small = yield* seedCaseTree(users, { cases: 1, investigationsPerCase: 1, notesPerInvestigation: 1, notesPerCase: 1 })
        const large = yield* seedCaseTree(users, { cases: 1, investigationsPerCase: 6, notesPerInvestigation: 8, notesPerCase: 12 })
        const token = tokensOf(yield* loginReply(users.INVESTIGATOR)).accessToken
        yield* send("GET", `/cases/${small.cases[0]!.id}`, { token })
        const one = yield* statementsOf(`/cases/${small.cases[0]!.id}`, token)
        const many = yield* statementsOf(`/cases/${large.cases[0]!.id}`, token)
        assert.deepStrictEqual(one.map((s) => s.sql), many.map((s) => s.sql))
        assert.strictEqual(many.length, 7)
        assert.isAtMost(many.length, ceiling)
        assert.isFalse(many.some(isTransactionControl))
        assert.isTrue(many.every((s) => s.userId === users.INVESTIGATOR.id))
      }))

    it.effect("Investigations.Get and Rius.List cost a constant number of statements", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(testStart)
        const { users } = yield* createOrganization(uniqueSlug("count"))
        const tree = yield* seedCaseTree(users, { cases: 40, notesPerInvestigation: 5 })
        const token = tokensOf(yield* loginReply(users.ADMIN)).accessToken
        yield* send("GET", "/rius?limit=1", { token })
        const investigation = yield* statementsOf(`/investigations/${tree.investigations[0]!.id}`, token)
        const few = yield* statementsOf("/rius?limit=5", token)
        const all = yield* statementsOf("/rius?limit=100", token)
        assert.strictEqual(investigation.length, 3)
        assert.deepStrictEqual([few.length, all.length], [2, 2])
      }))

    it.effect("over RPC, Cases.List and Cases.Get cost what they cost over HTTP", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(testStart)
        const { users } = yield* createOrganization(uniqueSlug("count"))
        const tree = yield* seedCaseTree(users, { cases: 30 })
        const api = yield* ApiClient
        yield* api.login({ email: users.ADMIN.email, password, organization: users.ADMIN.organization })
        yield* api.call((rpc) => rpc.Cases.List({ limit: 1 }))
        const [, list] = yield* log.during(api.call((rpc) => rpc.Cases.List({ limit: 25 })))
        const [, detail] = yield* log.during(api.call((rpc) => rpc.Cases.Get({ id: tree.cases[3]!.id })))
        assert.deepStrictEqual([list.length, detail.length], [5, 7])
      }).pipe(Effect.provide(overHttp)))
  })
})
