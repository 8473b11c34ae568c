import { assert, describe, it } from "@effect/vitest"
import * as Argon2 from "argon2"
import { Effect, Redacted } from "effect"
import pg from "pg"
import { WebSocket } from "ws"
import { startServer } from "../support/Server.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const password = "a password that must never be logged"
const wrongPassword = "a wrong password that must never be logged either"
const email = "logger@quiet.example"

interface Pair {
  readonly accessToken: string
  readonly refreshToken: string
}

/** An organization and one ADMIN, written straight into the database (the hash as PasswordsLive makes it). */
const seedUser = (url: string) =>
  Effect.promise(async () => {
    const hash = await Argon2.hash(password, { type: Argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query<{ id: string }>("INSERT INTO organizations (slug, name) VALUES ('quiet', 'Quiet') RETURNING id")
      await client.query(
        "INSERT INTO users (organization_id, email, password_hash, display_name, role, status) VALUES ($1, $2, $3, 'Logger', 'ADMIN', 'ACTIVE')",
        [rows[0]!.id, email, hash]
      )
    } finally {
      await client.end()
    }
  })

/** The real `npm start` program over the database, stopped (SIGTERM, then SIGKILL) with the scope. */
const runningServer = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(() => startServer({ LOG_LEVEL: "All", DATABASE_URL: url, SEED_DEMO: "false" })),
    (server) =>
      Effect.promise(async () => {
        if (server.child.exitCode !== null) return
        server.child.kill("SIGTERM")
        const timer = setTimeout(() => server.child.kill("SIGKILL"), 15_000)
        await server.exited
        clearTimeout(timer)
      })
  )

const call = (baseUrl: string, method: string, path: string, options: { readonly json?: unknown; readonly token?: string } = {}) =>
  Effect.promise(async () => {
    const headers: Record<string, string> = { "user-agent": "vitest" }
    if (options.json !== undefined) headers["content-type"] = "application/json"
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }) })
    return { status: response.status, text: await response.text() }
  })

const pairOf = (reply: { readonly status: number; readonly text: string }): Pair => {
  assert.strictEqual(reply.status, 200, reply.text)
  return JSON.parse(reply.text) as Pair
}

/** Upgrades /rpc with the token on the URL and in the header, makes one Auth.Me call, and closes. */
const meOverSocket = (baseUrl: string, token: string) =>
  Effect.promise(
    () =>
      new Promise<{ readonly _tag: string; readonly exit?: { readonly _tag: string } }>((resolve, reject) => {
        const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/rpc?token=${encodeURIComponent(token)}`, {
          headers: { authorization: `Bearer ${token}`, "user-agent": "vitest" }
        })
        const timer = setTimeout(() => {
          ws.terminate()
          reject(new Error("no answer to Auth.Me within 10 s"))
        }, 10_000)
        ws.once("error", reject)
        ws.once("open", () => ws.send(JSON.stringify({ _tag: "Request", id: "1", tag: "Auth.Me", payload: {}, headers: [] })))
        ws.on("message", (data) => {
          const message = JSON.parse(String(data)) as { readonly _tag: string; readonly exit?: { readonly _tag: string } }
          if (message._tag !== "Exit") return
          clearTimeout(timer)
          ws.close(1000)
          ws.once("close", () => resolve(message))
        })
      })
  )

describe("logs", () => {
  it.scopedLive("at LOG_LEVEL All the process output carries no token, no password and no `token=`, while it does log the requests", () =>
    Effect.gen(function* () {
      const url = Redacted.value(yield* scopedDatabase())
      yield* seedUser(url)
      const server = yield* runningServer(url)
      const baseUrl = server.baseUrl
      const first = pairOf(yield* call(baseUrl, "POST", "/auth/login", { json: { email, password, organization: "quiet" } }))
      const second = pairOf(yield* call(baseUrl, "POST", "/auth/refresh", { json: { refreshToken: first.refreshToken } }))
      const sessions = yield* call(baseUrl, "GET", "/auth/sessions", { token: second.accessToken })
      assert.strictEqual(sessions.status, 200, sessions.text)
      const health = yield* call(baseUrl, "GET", `/healthz?token=${encodeURIComponent(second.accessToken)}`)
      assert.strictEqual(health.status, 200, health.text)
      const me = yield* meOverSocket(baseUrl, second.accessToken)
      assert.strictEqual(me.exit?._tag, "Success", JSON.stringify(me))
      const failed = yield* call(baseUrl, "POST", "/auth/login", { json: { email, password: wrongPassword, organization: "quiet" } })
      assert.strictEqual(failed.status, 401, failed.text)
      const logout = yield* call(baseUrl, "POST", "/auth/logout", { token: second.accessToken })
      assert.strictEqual(logout.status, 204, logout.text)

      // Everything the process will ever print: stop it first.
      server.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => server.exited), 0)
      const output = server.output()

      assert.include(output, '"path":"/auth/login"')
      assert.include(output, '"path":"/auth/refresh"')
      assert.include(output, '"path":"/auth/sessions"')
      assert.include(output, '"path":"/healthz"')
      assert.include(output, '"path":"/auth/logout"')
      const secrets: ReadonlyArray<readonly [string, string]> = [
        ["the first access token", first.accessToken],
        ["the first access token's signature", first.accessToken.split(".")[2]!],
        ["the second access token", second.accessToken],
        ["the second access token's signature", second.accessToken.split(".")[2]!],
        ["the first refresh token", first.refreshToken],
        ["the first refresh token's secret", first.refreshToken.split(".")[1]!],
        ["the second refresh token", second.refreshToken],
        ["the second refresh token's secret", second.refreshToken.split(".")[1]!],
        ["the password", password],
        ["the wrong password", wrongPassword],
        ["a query token", "token="]
      ]
      const leaked = secrets.filter(([, secret]) => output.includes(secret)).map(([name, secret]) => {
        const at = output.indexOf(secret)
        return `${name}: …${output.slice(Math.max(0, at - 200), at)}<here>`
      })
      assert.deepStrictEqual(leaked, [])
    }), 120_000)
})
