import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { codeOf, loginReply, send, tokensOf, unknownRefreshToken } from "../support/Http.ts"
import { closeOf, failureCode, openRpc, postRpc, postRpcAndHangUp, request, upgradeRpc } from "../support/RawRpc.ts"
import { BaseUrl, createOrganization, password, ServerTest, uniqueSlug } from "../support/TestApp.ts"

const live = { timeout: 120_000, excludeTestServices: true } as const

/** The process still answers: GET /healthz is 200. */
const assertServing = Effect.gen(function* () {
  const health = yield* send("GET", "/healthz")
  assert.strictEqual(health.status, 200, health.text)
})

/** A user's access token, logged in from `address`. */
const accessToken = (user: Parameters<typeof loginReply>[0], address: string) =>
  Effect.map(loginReply(user, password, address), (reply) => {
    assert.strictEqual(reply.status, 200, reply.text)
    return tokensOf(reply).accessToken
  })

/** `count` JSON arrays nested in one another, as JSON text (no recursion on either side of the test). */
const nestedArrays = (count: number) => `${"[".repeat(count)}${"]".repeat(count)}`

describe("edge defenses: floods", () => {
  // Behind one trusted proxy: each test's clients come from addresses of their own (X-Forwarded-For).
  layer(ServerTest({ TRUST_PROXY: "1" }), live)((it) => {
    it.scoped("a client that stops reading while 20,000 authenticated calls are sent is closed 4429 or 4503, and the process's RSS stays under twice its idle figure", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("slow"))
        const token = yield* accessToken(users.VIEWER, "198.51.100.30")
        const baseUrl = yield* BaseUrl
        const idleRss = process.memoryUsage.rss()
        const socket = yield* openRpc(baseUrl, { token, forwardedFor: "198.51.100.30" })
        socket.ws.pause()
        for (let i = 0; i < 20_000; i++) socket.send(request(i, "Auth.ListSessions"))
        // The server refuses the backlog at once; read again (within its 5 s close handshake) to see the code.
        yield* Effect.sleep("1500 millis")
        const floodRss = process.memoryUsage.rss()
        socket.ws.resume()
        const close = yield* closeOf(socket, 30_000)
        const afterRss = process.memoryUsage.rss()
        assert.include([4429, 4503], close.code, `closed with ${close.code} ${close.reason} after ${socket.messages.length} answers`)
        assert.isBelow(Math.max(floodRss, afterRss), 2 * idleRss, `idle ${idleRss} B, during the flood ${floodRss} B, after ${afterRss} B`)
        assert.isBelow(socket.messages.length, 20_000, "not every call was served to a client that does not read")
        yield* assertServing
      }), 120_000)

    it.scoped("2,000 pipelined Auth.Login frames on one socket, then a hang-up: the process keeps serving and another address logs in within 1 s", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("flood"))
        const baseUrl = yield* BaseUrl
        const flooder = yield* openRpc(baseUrl, { forwardedFor: "198.51.100.10" })
        const payload = { email: users.VIEWER.email, password: "wrong password", organization: users.VIEWER.organization }
        for (let i = 0; i < 2_000; i++) flooder.send(request(i, "Auth.Login", payload))
        yield* Effect.sleep("300 millis")
        flooder.ws.terminate()
        yield* assertServing
        // A few seconds for what the flood started to drain; the login itself must then take under 1 s.
        yield* Effect.sleep("2 seconds")
        const login = yield* loginReply(users.ADMIN, password, "198.51.100.11")
        assert.strictEqual(login.status, 200, login.text)
        assert.isBelow(login.ms, 1_000)
      }), 120_000)

    it.scoped("3,000 Auth.Refresh lines with unknown tokens in one POST /rpc, then a hang-up: the process keeps serving", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("refresh"))
        const baseUrl = yield* BaseUrl
        const lines = Array.from({ length: 3_000 }, (_, i) => request(i, "Auth.Refresh", { refreshToken: unknownRefreshToken() }))
        const sent = yield* postRpcAndHangUp(baseUrl, lines, "198.51.100.20")
        assert.isAbove(sent, 3_000 * 100)
        yield* assertServing
        yield* Effect.sleep("2 seconds")
        yield* assertServing
        const login = yield* loginReply(users.ADMIN, password, "198.51.100.21")
        assert.strictEqual(login.status, 200, login.text)
      }), 120_000)
  })
})

describe("edge defenses: /rpc sockets", () => {
  layer(ServerTest({ TRUST_PROXY: "1", WS_MAX_SOCKETS_PER_ADDRESS: "5" }), live)((it) => {
    it.scoped("a frame that is not JSON is answered with a Defect and the socket serves the next call", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("garbage"))
        const token = yield* accessToken(users.VIEWER, "198.51.100.40")
        const socket = yield* openRpc(yield* BaseUrl, { token, forwardedFor: "198.51.100.40" })
        socket.send("this is { not json")
        const defect = yield* socket.waitFor((message) => message._tag === "Defect")
        assert.strictEqual(defect._tag, "Defect")
        socket.send(request(1, "Auth.Me"))
        const [exit] = yield* socket.exits(1)
        assert.strictEqual(exit!.requestId, "1")
        assert.strictEqual(exit!.exit?._tag, "Success", JSON.stringify(exit))
        assert.strictEqual((exit!.exit?.value as { readonly id?: string }).id, users.VIEWER.id)
      }))

    it.scoped("a Request with an unknown tag is answered with the protocol's error and the socket serves the next call", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("unknown"))
        const token = yield* accessToken(users.VIEWER, "198.51.100.41")
        const socket = yield* openRpc(yield* BaseUrl, { token, forwardedFor: "198.51.100.41" })
        socket.send(request(1, "Auth.NoSuchProcedure"))
        const answer = yield* socket.waitFor((message) => message._tag === "Defect" || (message._tag === "Exit" && message.requestId === "1"))
        assert.isTrue(answer._tag === "Defect" || answer.exit?._tag === "Failure", JSON.stringify(answer))
        socket.send(request(2, "Auth.Me"))
        const exit = yield* socket.waitFor((message) => message._tag === "Exit" && message.requestId === "2")
        assert.strictEqual(exit.exit?._tag, "Success", JSON.stringify(exit))
        assert.strictEqual(socket.ws.readyState, socket.ws.OPEN)
      }))

    it.scoped("requests with unknown tags, more of them than RPC_MAX_IN_FLIGHT, do not use up the socket: the next call is answered", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("unknown"))
        const token = yield* accessToken(users.VIEWER, "198.51.100.42")
        const socket = yield* openRpc(yield* BaseUrl, { token, forwardedFor: "198.51.100.42" })
        for (let i = 1; i <= 9; i++) socket.send(request(i, "Auth.NoSuchProcedure"))
        socket.send(request(10, "Auth.Me"))
        const exit = yield* socket.waitFor((message) => message._tag === "Exit" && message.requestId === "10", 5_000)
        assert.strictEqual(exit.exit?._tag, "Success", JSON.stringify(exit))
        const refusals = socket.messages.filter((message) => message._tag === "Defect" || (message._tag === "Exit" && message.requestId !== "10"))
        assert.strictEqual(refusals.length, 9)
      }))

    it.effect("a POST /rpc body with more unknown-tag requests than RPC_MAX_IN_FLIGHT is answered in full, its valid call included", () =>
      Effect.gen(function* () {
        const lines = [
          ...Array.from({ length: 9 }, (_, i) => request(i + 1, "Auth.NoSuchProcedure")),
          request(10, "Auth.Login", { email: "nobody@nowhere.example", password: "not the password" })
        ]
        const answer = yield* postRpc(yield* BaseUrl, lines, "198.51.100.43").pipe(
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("no answer to the POST /rpc within 10 s") })
        )
        assert.strictEqual(answer.status, 200)
        const login = answer.messages.find((message) => message._tag === "Exit" && message.requestId === "10")
        assert.isDefined(login, JSON.stringify(answer.messages))
        assert.strictEqual(failureCode(login!), "INVALID_CREDENTIALS")
      }))

    it.scoped("the socket over WS_MAX_SOCKETS_PER_ADDRESS from one address is refused 429 before the upgrade; another address is not", () =>
      Effect.gen(function* () {
        const baseUrl = yield* BaseUrl
        for (let i = 0; i < 5; i++) yield* openRpc(baseUrl, { forwardedFor: "198.51.100.50" })
        const refused = yield* upgradeRpc(baseUrl, { forwardedFor: "198.51.100.50" })
        assert.strictEqual(refused._tag, "Refused")
        if (refused._tag === "Refused") {
          assert.strictEqual(refused.status, 429)
          assert.strictEqual(JSON.parse(refused.body).code, "RATE_LIMITED")
        }
        const other = yield* upgradeRpc(baseUrl, { forwardedFor: "198.51.100.51" })
        assert.strictEqual(other._tag, "Open")
      }))

    it.scoped("a 65 KiB frame on /rpc closes the socket with 1009 and the process keeps serving", () =>
      Effect.gen(function* () {
        const socket = yield* openRpc(yield* BaseUrl, { forwardedFor: "198.51.100.60" })
        socket.send(request(1, "Auth.Login", { email: "a@b.example", password: "x".repeat(65 * 1024), organization: "acme" }))
        const close = yield* closeOf(socket)
        assert.strictEqual(close.code, 1009)
        yield* assertServing
      }))

    it.effect("a JSON body nested 100,000 levels deep is 400 VALIDATION_ERROR and the server keeps serving", () =>
      Effect.gen(function* () {
        const reply = yield* send("POST", "/auth/login", {
          raw: `{"email":${nestedArrays(100_000)},"password":"not the password"}`,
          forwardedFor: "198.51.100.70"
        })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual(codeOf(reply), "VALIDATION_ERROR")
        yield* assertServing
      }))

    it.effect("a top-level JSON value nested 100,000 levels deep is 400 VALIDATION_ERROR and the server keeps serving", () =>
      Effect.gen(function* () {
        const reply = yield* send("POST", "/auth/login", { raw: nestedArrays(100_000), forwardedFor: "198.51.100.71" })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual(codeOf(reply), "VALIDATION_ERROR")
        yield* assertServing
      }))

    it.effect("a NUL byte in the email is 400 VALIDATION_ERROR and the server keeps serving", () =>
      Effect.gen(function* () {
        const reply = yield* send("POST", "/auth/login", {
          json: { email: "nul\u0000@example.com", password: "not the password" },
          forwardedFor: "198.51.100.72"
        })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual(codeOf(reply), "VALIDATION_ERROR")
        yield* assertServing
      }))

    it.effect("an unpaired surrogate in the email is 400 VALIDATION_ERROR and the server keeps serving", () =>
      Effect.gen(function* () {
        const raw = JSON.stringify({ email: "lone\ud800@example.com", password: "not the password" })
        assert.include(raw, "\\ud800")
        const reply = yield* send("POST", "/auth/login", { raw, forwardedFor: "198.51.100.73" })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual(codeOf(reply), "VALIDATION_ERROR")
        yield* assertServing
      }))
  })
})

describe("edge defenses: the RPC authentication deadline", () => {
  layer(ServerTest({ TRUST_PROXY: "1", RPC_AUTH_DEADLINE: "1 second" }), live)((it) => {
    it.scoped("an /rpc socket that makes no authenticated call is closed 4401 after RPC_AUTH_DEADLINE", () =>
      Effect.gen(function* () {
        const socket = yield* openRpc(yield* BaseUrl, { forwardedFor: "198.51.100.80" })
        const close = yield* closeOf(socket, 10_000)
        assert.strictEqual(close.code, 4401)
        assert.isAtLeast(close.afterMs, 900)
        assert.isBelow(close.afterMs, 5_000)
      }))

    it.scoped("an /rpc socket that made an authenticated call stays open past RPC_AUTH_DEADLINE", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("deadline"))
        const token = yield* accessToken(users.VIEWER, "198.51.100.81")
        const socket = yield* openRpc(yield* BaseUrl, { token, forwardedFor: "198.51.100.81" })
        socket.send(request(1, "Auth.Me"))
        const [first] = yield* socket.exits(1)
        assert.strictEqual(first!.exit?._tag, "Success", JSON.stringify(first))
        yield* Effect.sleep("3 seconds")
        assert.strictEqual(socket.ws.readyState, socket.ws.OPEN)
        socket.send(request(2, "Auth.Me"))
        const second = yield* socket.waitFor((message) => message._tag === "Exit" && message.requestId === "2")
        assert.strictEqual(second.exit?._tag, "Success", JSON.stringify(second))
      }))
  })
})
