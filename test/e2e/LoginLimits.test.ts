import { assert, describe, it, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Fiber, Layer } from "effect"
import { addressPool, codeOf, failedChecks, loginReply, type Reply, send, unknownRefreshToken } from "../support/Http.ts"
import { failureCode, openRpc, postRpc, request } from "../support/RawRpc.ts"
import { BaseUrl, createOrganization, InstanceTest, password, ServerTest, uniqueSlug } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const live = { timeout: 120_000, excludeTestServices: true } as const

/** Client addresses of this file's tests (X-Forwarded-For behind TRUST_PROXY=1): a new one each call. */
const nextAddress = addressPool("10.77")

const wrong = "not the password at all"

/** A 429 answer as PROTOCOL.md puts it: RATE_LIMITED with Retry-After in whole seconds. */
const assertRateLimited = (reply: Reply) => {
  assert.strictEqual(reply.status, 429, reply.text)
  assert.strictEqual(codeOf(reply), "RATE_LIMITED")
  assert.match(reply.headers.get("retry-after") ?? "", /^[1-9]\d*$/)
}

const countStatus = (replies: ReadonlyArray<Reply>, status: number) => replies.filter((reply) => reply.status === status).length

/** Waits, when the current minute is nearly over, for the next one to begin (for per-minute aggregates). */
const atStartOfAMinute = Effect.suspend(() => {
  const second = new Date().getUTCSeconds()
  return second < 45 ? Effect.void : Effect.sleep(`${(60 - second) * 1000 + 200} millis`)
})

describe("login limits", () => {
  layer(ServerTest({ TRUST_PROXY: "1" }), live)((it) => {
    it.effect("60 parallel wrong-password logins for one account from one address check at most 10 passwords; at least 50 get 429 with Retry-After", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("parallel"))
        const address = nextAddress()
        const replies = yield* Effect.all(Array.from({ length: 60 }, () => loginReply(users.VIEWER, wrong, address)), { concurrency: "unbounded" })
        const checks = yield* failedChecks(users.VIEWER.email)
        assert.isAbove(checks, 0)
        assert.isAtMost(checks, 10)
        assert.deepStrictEqual(replies.filter((reply) => reply.status !== 401 && reply.status !== 429).map((reply) => `${reply.status} ${reply.text}`), [])
        assert.strictEqual(countStatus(replies, 401), checks)
        assert.isAtLeast(countStatus(replies, 429), 50)
        for (const reply of replies.filter((reply) => reply.status === 429)) assertRateLimited(reply)
      }))

    it.effect("1,000 Auth.Login lines for one account in one POST /rpc check at most 10 passwords, while another user logs in from another address within 1 s", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("ndjson"))
        const baseUrl = yield* BaseUrl
        const payload = { email: users.VIEWER.email, password: wrong, organization: users.VIEWER.organization }
        const lines = Array.from({ length: 1_000 }, (_, i) => request(i, "Auth.Login", payload))
        const flood = yield* Effect.fork(postRpc(baseUrl, lines, nextAddress()))
        yield* Effect.sleep("200 millis")
        const login = yield* loginReply(users.ADMIN, password, nextAddress())
        assert.strictEqual(login.status, 200, login.text)
        assert.isBelow(login.ms, 1_000)
        const answer = yield* Fiber.join(flood)
        const exits = answer.messages.filter((message) => message._tag === "Exit")
        assert.strictEqual(exits.length, 1_000)
        const codes = new Set(exits.map(failureCode))
        assert.deepStrictEqual([...codes].filter((code) => code !== "INVALID_CREDENTIALS" && code !== "RATE_LIMITED"), [])
        const checks = yield* failedChecks(users.VIEWER.email)
        assert.isAbove(checks, 0)
        assert.isAtMost(checks, 10)
      }), 120_000)

    it.scoped("100 Auth.Login frames for one account on one /rpc socket check at most 10 passwords", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("frames"))
        const socket = yield* openRpc(yield* BaseUrl, { forwardedFor: nextAddress() })
        const payload = { email: users.VIEWER.email, password: wrong, organization: users.VIEWER.organization }
        for (let i = 0; i < 100; i++) socket.send(request(i, "Auth.Login", payload))
        const exits = yield* socket.exits(100, 60_000)
        assert.deepStrictEqual(exits.filter((exit) => exit.exit?._tag !== "Failure"), [])
        const checks = yield* failedChecks(users.VIEWER.email)
        assert.isAbove(checks, 0)
        assert.isAtMost(checks, 10)
      }), 120_000)

    it.effect("the owner logs in from a proven address after guesses from 40 addresses emptied the account bucket; a never-seen address is refused 429", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("owner"))
        const owner = users.INVESTIGATOR
        const home = nextAddress()
        assert.strictEqual((yield* loginReply(owner, password, home)).status, 200)
        const guesses = yield* Effect.forEach(Array.from({ length: 40 }, nextAddress), (address) => loginReply(owner, wrong, address), { concurrency: 4 })
        assert.deepStrictEqual(guesses.filter((reply) => reply.status !== 401 && reply.status !== 429).map((reply) => reply.status), [])
        assert.isAtMost(countStatus(guesses, 401), 10)
        assert.isAtLeast(countStatus(guesses, 429), 30)
        const again = yield* loginReply(owner, password, home)
        assert.strictEqual(again.status, 200, again.text)
        assertRateLimited(yield* loginReply(owner, password, nextAddress()))
      }), 60_000)

    it.effect("with X-Forwarded-For `<forged>, <real>` the failed-login audit row records the real address", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("forged"))
        const real = nextAddress()
        const reply = yield* loginReply(users.VIEWER, wrong, `203.0.113.66, ${real}`)
        assert.strictEqual(reply.status, 401, reply.text)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ ip: string | null }>`
          SELECT ip FROM audit_log WHERE action = 'auth.login.failed' AND changes->>'email' = ${users.VIEWER.email}`
        assert.deepStrictEqual(rows.map((row) => row.ip), [real])
      }))

    it.effect("with X-Forwarded-For `<forged>, <real>` the address limit counts the real address: the 11th failure is 429 whatever the forged entry", () =>
      Effect.gen(function* () {
        const slug = uniqueSlug("spoof")
        const real = nextAddress()
        // Unknown emails, one per attempt: only the address bucket can refuse.
        for (let i = 1; i <= 10; i++) {
          const reply = yield* loginReply({ email: `ghost${i}@${slug}.example`, organization: slug }, wrong, `203.0.113.${i}, ${real}`)
          assert.strictEqual(reply.status, 401, `attempt ${i}: ${reply.text}`)
        }
        assertRateLimited(yield* loginReply({ email: `ghost11@${slug}.example`, organization: slug }, wrong, `192.0.2.200, ${real}`))
      }))

    it.effect("30 unknown refresh tokens from one address get 401, the 31st 429 with Retry-After; another address still gets 401", () =>
      Effect.gen(function* () {
        const address = nextAddress()
        const refresh = (from: string) => send("POST", "/auth/refresh", { json: { refreshToken: unknownRefreshToken() }, forwardedFor: from })
        for (let i = 1; i <= 30; i++) {
          const reply = yield* refresh(address)
          assert.strictEqual(reply.status, 401, `refresh ${i}: ${reply.text}`)
        }
        assertRateLimited(yield* refresh(address))
        const other = yield* refresh(nextAddress())
        assert.strictEqual(other.status, 401, other.text)
      }))

    it.effect("50 refused logins from one address within a minute leave one auth.login.refused audit row for that address and minute, with count 50", () =>
      Effect.gen(function* () {
        const slug = uniqueSlug("refused")
        const address = nextAddress()
        yield* atStartOfAMinute
        for (let i = 1; i <= 10; i++) {
          const reply = yield* loginReply({ email: `ghost${i}@${slug}.example`, organization: slug }, wrong, address)
          assert.strictEqual(reply.status, 401, `attempt ${i}: ${reply.text}`)
        }
        const refused = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => `ghost${i + 11}@${slug}.example`),
          (email) => loginReply({ email, organization: slug }, wrong, address),
          { concurrency: 10 }
        )
        assert.strictEqual(countStatus(refused, 429), 50)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ count: number; minute: string }>`
          SELECT (changes->>'count')::int AS count, to_char(date_trunc('minute', created_at), 'HH24:MI') AS minute
            FROM audit_log WHERE action = 'auth.login.refused' AND ip = ${address}`
        assert.strictEqual(rows.length, 1, JSON.stringify(rows))
        assert.strictEqual(rows[0]!.count, 50)
      }), 120_000)
  })
})

describe("login limits across instances", () => {
  it.scopedLive("two instances over one database share one account budget: after 5 failures on each, the 11th attempt on either is 429", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase()
      const a = yield* Layer.build(InstanceTest(url, { TRUST_PROXY: "1" }))
      const b = yield* Layer.build(InstanceTest(url, { TRUST_PROXY: "1" }))
      const { users } = yield* createOrganization(uniqueSlug("shared")).pipe(Effect.provide(a))
      const attemptOn = (instance: Context.Context<BaseUrl>) =>
        Effect.provideService(loginReply(users.VIEWER, wrong, nextAddress()), BaseUrl, Context.get(instance, BaseUrl))
      for (const [name, instance] of [["A", a], ["B", b]] as const) {
        for (let i = 1; i <= 5; i++) {
          const reply = yield* attemptOn(instance)
          assert.strictEqual(reply.status, 401, `${name} ${i}: ${reply.text}`)
        }
      }
      assertRateLimited(yield* attemptOn(a))
      assertRateLimited(yield* attemptOn(b))
    }), 120_000)
})
