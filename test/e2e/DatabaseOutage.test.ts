import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import { startServer } from "../support/Server.ts"
import { BaseUrl, createOrganization, password, ServerTest, uniqueSlug } from "../support/TestApp.ts"
import { DatabaseUrl } from "../../services/Database.ts"

interface Answer {
  readonly status: number
  readonly retryAfter: string | null
  readonly body: string
}

const post = (url: string, body: unknown) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.text() }
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "casecore-outage-"))
    Fs.chmodSync(dir, 0o755)
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

describe("a database outage", () => {
  it.scopedLive("killing the embedded PostgreSQL: clients get 503 UNAVAILABLE with Retry-After, then the service resumes by itself", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startServer({ DATABASE_URL: "", EMBEDDED_PG_DIR: Path.join(dir, "pg"), SEED_DEMO: "true", LOG_LEVEL: "Info" })),
        (started) => Effect.promise(() => { started.child.kill("SIGTERM"); return started.exited })
      )
      const login = post(`${server.baseUrl}/auth/login`, { email: "admin@acme.example", password: "demo-password-2026", organization: "acme" })
      const first = yield* login
      assert.strictEqual(first.status, 200, `${first.body}\n${server.output()}`)

      const postmaster = Number(Fs.readFileSync(Path.join(dir, "pg", "postmaster.pid"), "utf8").split("\n")[0])
      process.kill(postmaster, "SIGKILL")
      const answers: Array<Answer> = []
      const started = Date.now()
      while (Date.now() - started < 20_000) {
        const answer = yield* login
        answers.push(answer)
        if (answer.status === 200 && answers.some((a) => a.status === 503)) break
        yield* Effect.sleep("20 millis")
      }
      const unavailable = answers.filter((answer) => answer.status === 503)
      assert.isAbove(unavailable.length, 0, `answers: ${answers.map((a) => a.status).join(",")}`)
      for (const answer of unavailable) {
        assert.deepStrictEqual(JSON.parse(answer.body), { code: "UNAVAILABLE", message: "the service is unavailable; retry shortly" })
        assert.match(answer.retryAfter ?? "", /^\d+$/)
      }
      assert.deepStrictEqual(answers.filter((answer) => answer.status !== 503 && answer.status !== 200), [], "never a 500 during the outage")
      assert.strictEqual(answers.at(-1)?.status, 200, "the service resumed")
      // Readiness follows once the LISTEN connection is back too (it reconnects with backoff).
      const ready = yield* Effect.promise(async () => {
        for (let i = 0; i < 100; i++) {
          if ((await fetch(`${server.baseUrl}/readyz`)).status === 200) return true
          await new Promise((resume) => setTimeout(resume, 100))
        }
        return false
      })
      assert.isTrue(ready)
      const outageLines = server.output().split("\n").filter((line) => line.includes("database unavailable"))
      assert.isAtMost(outageLines.length, 2, "one log line per interval, not one per request")
      assert.notInclude(server.output(), "request failed")
    }), { timeout: 120_000 })

  layer(ServerTest({ DB_STATEMENT_TIMEOUT: "1 second" }), { timeout: 60_000, excludeTestServices: true })((it) => {
    it.scoped("a statement held up by the database is cut at DB_STATEMENT_TIMEOUT and answered 503", () =>
      Effect.gen(function* () {
        const slug = uniqueSlug("frozen")
        const { users } = yield* createOrganization(slug)
        const baseUrl = yield* BaseUrl
        // Another session holds the sessions table: from the server's side the database stops answering.
        const blocker = new pg.Client({ connectionString: Redacted.value(yield* DatabaseUrl) })
        yield* Effect.acquireRelease(Effect.promise(() => blocker.connect()), () => Effect.promise(() => blocker.end()))
        yield* Effect.promise(() => blocker.query("BEGIN; LOCK TABLE auth_sessions IN ACCESS EXCLUSIVE MODE"))
        const started = Date.now()
        const answer = yield* post(`${baseUrl}/auth/login`, { email: users.ADMIN.email, password, organization: slug })
        const took = Date.now() - started
        yield* Effect.promise(() => blocker.query("ROLLBACK"))
        assert.strictEqual(answer.status, 503, answer.body)
        assert.strictEqual(JSON.parse(answer.body).code, "UNAVAILABLE")
        assert.isBelow(took, 5_000)
        const after = yield* post(`${baseUrl}/auth/login`, { email: users.ADMIN.email, password, organization: slug })
        assert.strictEqual(after.status, 200)
      }))
  })
})
