import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import { runCli, runCliInTerminal, spawnEntry } from "../support/Cli.ts"
import { startServer } from "../support/Server.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "")

/** Text without ANSI escapes (styles, cursor moves) and carriage returns. */
const plain = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replaceAll("\r", "")

const withDatabaseEnv = Effect.map(scopedDatabase(), (url) => ({ DATABASE_URL: Redacted.value(url) }))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "casecore-cli-"))
    // Run as root, the embedded server runs as the `postgres` user, which must reach its data directory.
    Fs.chmodSync(dir, 0o755)
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A database of its own with an organization and one user made by the CLI; `sql` runs a query with the user's id as $1. */
const organizationWithUser = (slug: string, name: string, email: string, role: string) =>
  Effect.gen(function* () {
    const url = yield* scopedDatabase()
    const env = { DATABASE_URL: Redacted.value(url) }
    yield* Effect.promise(() => runCli(["org", "create", "--slug", slug, "--name", name], { env }))
    const created = yield* Effect.promise(() =>
      runCli(["user", "create", "--org", slug, "--email", email, "--role", role], { env, stdin: "a long enough password\n" }))
    const userId = created.stdout.trim()
    const sql = (text: string) => Effect.promise(async () => {
      const client = new pg.Client({ connectionString: Redacted.value(url) })
      await client.connect()
      try {
        return (await client.query(text, [userId])).rows
      } finally {
        await client.end()
      }
    })
    return { env, sql }
  })

// Every test spawns Node processes that compile TypeScript at start (4-5 s of CPU each): generous bounds for a loaded CI machine.
describe("cli", { timeout: 120_000 }, () => {
  it.live("exits 2 on an unknown command, a missing option, an invalid value or a missing subcommand, with nothing on stdout", () =>
    Effect.gen(function* () {
      const [unknown, missing, badSlug, badEmail, extra, groupOnly] = yield* Effect.all([
        Effect.promise(() => runCli(["frobnicate"])),
        Effect.promise(() => runCli(["org", "create", "--name", "Acme"])),
        Effect.promise(() => runCli(["org", "create", "--slug", "Not A Slug", "--name", "Acme"])),
        Effect.promise(() => runCli(["user", "deactivate", "--org", "acme", "--email", "nobody"])),
        Effect.promise(() => runCli(["migrate", "status", "--json", "--verbose"])),
        Effect.promise(() => runCli(["user"]))
      ], { concurrency: "unbounded" })
      for (const run of [unknown, missing, badSlug, badEmail, extra, groupOnly]) {
        assert.strictEqual(run.code, 2, run.stderr)
        assert.strictEqual(run.stdout, "")
      }
      assert.include(unknown.stderr, "Invalid subcommand for casecore - use one of 'serve', 'migrate', 'seed', 'org', 'user'")
      assert.include(missing.stderr, "Expected to find option: '--slug'")
      assert.include(badSlug.stderr, "--slug: expected lower-case letters, digits and dashes")
      assert.include(badEmail.stderr, "--email: expected an email address")
      assert.include(extra.stderr, "Received unknown argument: '--verbose'")
      assert.deepStrictEqual(lines(groupOnly.stderr), ["error: missing command: user <command> (see user --help)"])
    }), { timeout: 180_000 })

  it.live("prints the usage of every command and subcommand on --help, exit 0", () =>
    Effect.gen(function* () {
      const usages: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [[], "$ casecore"],
        [["serve"], "$ serve"],
        [["migrate"], "$ migrate"],
        [["migrate", "status"], "$ status [--json]"],
        [["seed"], "$ seed"],
        [["seed", "demo"], "$ demo"],
        [["org"], "$ org"],
        [["org", "create"], "$ create --slug <slug> --name <name>"],
        [["org", "suspend"], "$ suspend --slug <slug>"],
        [["org", "activate"], "$ activate --slug <slug>"],
        [["user"], "$ user"],
        [["user", "create"], "$ create --org <slug> --email <email> --role <ADMIN|INVESTIGATOR|VIEWER|OPS> [--name <name>]"],
        [["user", "deactivate"], "$ deactivate --org <slug> --email <email>"],
        [["user", "set-role"], "$ set-role --org <slug> --email <email> --role <ADMIN|INVESTIGATOR|VIEWER|OPS>"]
      ]
      const runs = yield* Effect.forEach(usages, ([words]) => Effect.promise(() => runCli([...words, "--help"])), { concurrency: 4 })
      usages.forEach(([words, usage], i) => {
        const run = runs[i]!
        assert.strictEqual(run.code, 0, `${words.join(" ")} --help: ${run.stderr}`)
        assert.strictEqual(run.stderr, "")
        assert.include(plain(run.stdout), `USAGE\n\n${usage}\n`, words.join(" "))
      })
      const root = plain(runs[0]!.stdout)
      for (const command of ["serve", "migrate status [--json]", "seed demo", "org create --slug <slug> --name <name>", "user deactivate --org <slug> --email <email>"]) {
        assert.include(root, `- ${command} `)
      }
      const late = yield* Effect.promise(() => runCli(["org", "create", "--slug", "acme", "--help"]))
      assert.strictEqual(late.code, 0, late.stderr)
      assert.include(plain(late.stdout), "$ create --slug <slug> --name <name>")
    }), { timeout: 180_000 })

  it.live("stops with one line naming a malformed variable", () =>
    Effect.gen(function* () {
      const run = yield* Effect.promise(() => runCli(["serve"], { env: { PORT: "eighty" } }))
      assert.strictEqual(run.code, 1)
      assert.deepStrictEqual(lines(run.stderr), ['error: configuration error: PORT: Expected an integer value but received "eighty"'])
    }))

  it.live("stops with one line when DATABASE_URL is unreachable, without printing the password", () =>
    Effect.gen(function* () {
      const run = yield* Effect.promise(() =>
        runCli(["migrate"], { env: { DATABASE_URL: "postgres://app:s3cret-pw@127.0.0.1:9/app" } }))
      assert.strictEqual(run.code, 1)
      const [line, ...rest] = lines(run.stderr)
      assert.deepStrictEqual(rest, [])
      assert.match(line!, /^error: database error: .*ECONNREFUSED 127\.0\.0\.1:9/)
      assert.notInclude(run.stderr + run.stdout, "s3cret-pw")
    }))

  it.scopedLive("stops with one line when the port is busy", () =>
    Effect.gen(function* () {
      const env = yield* withDatabaseEnv
      const blocker = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const server = Net.createServer().listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.sync(() => server.close())
      )
      const port = (blocker.address() as Net.AddressInfo).port
      const run = yield* Effect.promise(() => runCli(["serve"], { env: { ...env, PORT: String(port), HOST: "127.0.0.1" } }))
      assert.strictEqual(run.code, 1)
      assert.include(lines(run.stderr).at(-1), "the port is already in use")
    }))

  it.scopedLive("creates an organization and a user with the password read from stdin", () =>
    Effect.gen(function* () {
      const env = yield* withDatabaseEnv
      const org = yield* Effect.promise(() => runCli(["org", "create", "--slug", "initech", "--name", "Initech"], { env }))
      assert.strictEqual(org.code, 0, org.stderr)
      assert.match(org.stdout.trim(), /^[0-9a-f-]{36}$/)
      const user = yield* Effect.promise(() =>
        runCli(["user", "create", "--org", "initech", "--email", "Peter@Initech.example", "--role", "INVESTIGATOR"], {
          env,
          stdin: "correct horse battery staple\n"
        }))
      assert.strictEqual(user.code, 0, user.stderr)
      assert.match(user.stdout.trim(), /^[0-9a-f-]{36}$/)
      const again = yield* Effect.promise(() =>
        runCli(["user", "create", "--org", "initech", "--email", "peter@initech.example", "--role", "VIEWER"], {
          env,
          stdin: "another long password\n"
        }))
      assert.strictEqual(again.code, 1)
      assert.include(again.stderr, "peter@initech.example already exists in initech")
      const duplicateOrg = yield* Effect.promise(() => runCli(["org", "create", "--slug", "initech", "--name", "Again"], { env }))
      assert.strictEqual(duplicateOrg.code, 1)
      assert.include(duplicateOrg.stderr, "already exists")
    }))

  it.scopedLive("deactivates a user and revokes their sessions; an unknown email is a user error", () =>
    Effect.gen(function* () {
      const { env, sql } = yield* organizationWithUser("hooli", "Hooli", "gavin@hooli.example", "ADMIN")
      yield* sql(`INSERT INTO auth_sessions (organization_id, user_id, idle_expires_at, absolute_expires_at)
                  SELECT organization_id, id, now() + interval '30 minutes', now() + interval '12 hours' FROM users WHERE id = $1`)
      const run = yield* Effect.promise(() => runCli(["user", "deactivate", "--org", "hooli", "--email", "gavin@hooli.example"], { env }))
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(yield* sql("SELECT status FROM users WHERE id = $1"), [{ status: "INACTIVE" }])
      assert.deepStrictEqual(yield* sql("SELECT revoked_reason FROM auth_sessions WHERE user_id = $1"), [{ revoked_reason: "USER_DEACTIVATED" }])
      const unknown = yield* Effect.promise(() => runCli(["user", "deactivate", "--org", "hooli", "--email", "nobody@hooli.example"], { env }))
      assert.strictEqual(unknown.code, 1)
      assert.include(unknown.stderr, "no user nobody@hooli.example in hooli")
    }), { timeout: 180_000 })

  it.scopedLive("changes a role and suspends and activates an organization, revoking the sessions each time", () =>
    Effect.gen(function* () {
      const { env, sql } = yield* organizationWithUser("piedpiper", "Pied Piper", "dinesh@piedpiper.example", "VIEWER")
      const openSession = sql(`INSERT INTO auth_sessions (organization_id, user_id, idle_expires_at, absolute_expires_at)
                  SELECT organization_id, id, now() + interval '30 minutes', now() + interval '12 hours' FROM users WHERE id = $1`)
      yield* openSession
      const role = yield* Effect.promise(() => runCli(["user", "set-role", "--org", "piedpiper", "--email", "dinesh@piedpiper.example", "--role", "INVESTIGATOR"], { env }))
      assert.strictEqual(role.code, 0, role.stderr)
      assert.deepStrictEqual(yield* sql("SELECT role FROM users WHERE id = $1"), [{ role: "INVESTIGATOR" }])
      assert.deepStrictEqual(yield* sql("SELECT revoked_reason FROM auth_sessions WHERE user_id = $1"), [{ revoked_reason: "ROLE_CHANGED" }])

      yield* openSession
      const suspend = yield* Effect.promise(() => runCli(["org", "suspend", "--slug", "piedpiper"], { env }))
      assert.strictEqual(suspend.code, 0, suspend.stderr)
      assert.deepStrictEqual(yield* sql("SELECT o.status FROM organizations o JOIN users u ON u.organization_id = o.id WHERE u.id = $1"), [{ status: "SUSPENDED" }])
      assert.deepStrictEqual(
        yield* sql("SELECT revoked_reason FROM auth_sessions WHERE user_id = $1 ORDER BY revoked_reason"),
        [{ revoked_reason: "ORGANIZATION_SUSPENDED" }, { revoked_reason: "ROLE_CHANGED" }]
      )
      const activate = yield* Effect.promise(() => runCli(["org", "activate", "--slug", "piedpiper"], { env }))
      assert.strictEqual(activate.code, 0, activate.stderr)
      assert.deepStrictEqual(yield* sql("SELECT o.status FROM organizations o JOIN users u ON u.organization_id = o.id WHERE u.id = $1"), [{ status: "ACTIVE" }])
      assert.deepStrictEqual(yield* sql("SELECT count(*)::int AS live FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL"), [{ live: 0 }])
      const unknown = yield* Effect.promise(() => runCli(["org", "suspend", "--slug", "nobody-here"], { env }))
      assert.strictEqual(unknown.code, 1)
      assert.include(unknown.stderr, "no organization with slug nobody-here")
    }), { timeout: 180_000 })

  it.scopedLive("refuses a short or missing password and a bad role", () =>
    Effect.gen(function* () {
      const env = yield* withDatabaseEnv
      const short = yield* Effect.promise(() =>
        runCli(["user", "create", "--org", "acme", "--email", "a@b.example", "--role", "VIEWER"], { env, stdin: "short\n" }))
      assert.strictEqual(short.code, 1)
      assert.include(short.stderr, "at least 12 characters")
      const role = yield* Effect.promise(() =>
        runCli(["user", "create", "--org", "acme", "--email", "a@b.example", "--role", "ROOT"], { env }))
      assert.strictEqual(role.code, 2)
      assert.include(role.stderr, "--role: expected one of ADMIN, INVESTIGATOR, VIEWER, OPS")
      assert.strictEqual(role.stdout, "")
      const none = yield* Effect.promise(() =>
        runCli(["user", "create", "--org", "acme", "--email", "a@b.example", "--role", "VIEWER"], { env }))
      assert.strictEqual(none.code, 1)
      assert.deepStrictEqual(lines(none.stderr), ["error: no password given on stdin"])
    }))

  it.scopedLive("in a terminal, prompts for the password without showing it, asks again when too short, and creates the user", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase()
      const env = { DATABASE_URL: Redacted.value(url) }
      const org = yield* Effect.promise(() => runCli(["org", "create", "--slug", "piedpiper", "--name", "Pied Piper"], { env }))
      assert.strictEqual(org.code, 0, org.stderr)
      const password = "middle out compression"
      const run = yield* Effect.promise(() =>
        runCliInTerminal(["user", "create", "--org", "piedpiper", "--email", "richard@piedpiper.example", "--role", "ADMIN"], {
          env,
          steps: [
            { waitFor: "Password", type: "short\r" },
            { waitFor: "at least 12 characters", type: `${"\x7f".repeat("short".length)}${password}\r` }
          ]
        }))
      const output = plain(run.output)
      assert.strictEqual(run.code, 0, output)
      assert.notInclude(output, password)
      assert.notInclude(output, "short")
      const id = /([0-9a-f-]{36})\s*$/.exec(output)?.[1]
      assert.isDefined(id, output)
      const rows = yield* Effect.promise(async () => {
        const client = new pg.Client({ connectionString: Redacted.value(url) })
        await client.connect()
        try {
          return (await client.query("SELECT email, role, display_name FROM users WHERE id = $1", [id])).rows
        } finally {
          await client.end()
        }
      })
      assert.deepStrictEqual(rows, [{ email: "richard@piedpiper.example", role: "ADMIN", display_name: "richard" }])
    }), { timeout: 180_000 })

  it.scopedLive("npm start serves /readyz on an embedded database with demo data, never logs a query token, and stops cleanly on SIGTERM", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const server = yield* Effect.promise(() => startServer({ DATABASE_URL: undefined, EMBEDDED_PG_DIR: Path.join(dir, "pg") }))
      const ready = yield* Effect.promise(() => fetch(`${server.baseUrl}/readyz`))
      assert.strictEqual(ready.status, 200)
      assert.deepStrictEqual(yield* Effect.promise(() => ready.json()), { status: "ready", checks: { database: true, listener: true } })
      assert.include(server.output(), "admin@acme.example")
      yield* Effect.promise(() => fetch(`${server.baseUrl}/healthz?token=eyJ.secret-in-the-query`))
      yield* Effect.promise(() => fetch(`${server.baseUrl}/readyz`))
      const pidFile = Path.join(dir, "pg", "postmaster.pid")
      assert.isTrue(Fs.existsSync(pidFile))
      server.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => server.exited), 0)
      assert.isFalse(Fs.existsSync(pidFile), "the embedded server stopped with the program")
      assert.include(server.output(), '"path":"/healthz"')
      assert.notInclude(server.output(), "secret-in-the-query")
    }), { timeout: 180_000 })

  it.scopedLive("`serve` from the CLI stops on SIGTERM with exit 0 after closing the server and the embedded database", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const pidFile = Path.join(dir, "pg", "postmaster.pid")
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawnEntry("cli.ts", ["serve"], {
            DATABASE_URL: undefined,
            EMBEDDED_PG_DIR: Path.join(dir, "pg"),
            SEED_DEMO: "false",
            PORT: "0",
            HOST: "127.0.0.1",
            LOG_LEVEL: "Info"
          })),
        (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
      )
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          let stderr = ""
          child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString()
            if (stderr.includes("listening on")) resolve()
          })
        })).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("serve did not start") }))
      assert.isTrue(Fs.existsSync(pidFile))
      child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => exited), 0)
      assert.isFalse(Fs.existsSync(pidFile), "the embedded server stopped with the program")
    }), { timeout: 180_000 })

  it.scopedLive("a command run beside a running server shares its embedded database instead of stopping it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const env = { DATABASE_URL: undefined, EMBEDDED_PG_DIR: Path.join(dir, "pg"), SEED_DEMO: "false" }
      const server = yield* Effect.promise(() => startServer(env))
      const status = yield* Effect.promise(() => runCli(["migrate", "status", "--json"], { env: { ...env, LOG_LEVEL: "Info" } }))
      assert.strictEqual(status.code, 0, status.stderr)
      assert.include(status.stderr, "sharing the embedded PostgreSQL")
      assert.strictEqual((yield* Effect.promise(() => fetch(`${server.baseUrl}/readyz`))).status, 200)
      server.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => server.exited), 0)
    }), { timeout: 180_000 })

  it.scopedLive("recovers an embedded database orphaned by a SIGKILL", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const env = { DATABASE_URL: undefined, EMBEDDED_PG_DIR: Path.join(dir, "pg"), SEED_DEMO: "false" }
      const first = yield* Effect.promise(() => startServer(env))
      first.child.kill("SIGKILL")
      yield* Effect.promise(() => first.exited)
      const orphan = Number(Fs.readFileSync(Path.join(dir, "pg", "postmaster.pid"), "utf8").split("\n")[0])
      assert.isTrue(isAlive(orphan), "the embedded server outlived the killed program")
      const second = yield* Effect.promise(() => startServer(env))
      assert.strictEqual((yield* Effect.promise(() => fetch(`${second.baseUrl}/readyz`))).status, 200)
      assert.isFalse(isAlive(orphan))
      second.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => second.exited), 0)
    }), { timeout: 180_000 })
})
