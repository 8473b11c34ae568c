import { assert, describe, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { ICruiseResult } from "dependency-cruiser"

const root = fileURLToPath(new URL("../..", import.meta.url))
const fixtures = Path.join(root, "test/fixtures/walls")

/**
 * The lint exactly as `npm run lint` runs it (the project's config, the same folders), but from a
 * fixture root, so the fixture's paths read like the real tree's (`src/domain/Ids.ts`).
 */
const cruise = (tree: "good" | "bad"): Promise<ICruiseResult> =>
  new Promise((resolve, reject) => {
    ChildProcess.execFile(
      process.execPath,
      [
        Path.join(root, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs"),
        "--config",
        Path.join(root, ".dependency-cruiser.cjs"),
        "--output-type",
        "json",
        "src",
        "services",
        "layers",
        "migrations"
      ],
      { cwd: Path.join(fixtures, tree), maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)))
    )
  })

// An npm target resolves to a file under the repository's node_modules (`../../../../node_modules/...`).
const target = (to: string) => to.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, "npm:$1")

const crossings = (result: ICruiseResult, rule: string) =>
  result.summary.violations
    .filter((violation) => violation.rule.name === rule)
    .map((violation) => `${violation.from} -> ${target(violation.to)}`)
    .sort()

/** Each rule of the config with the imports of the bad tree that cross it, and no others. */
const expected: Record<string, ReadonlyArray<string>> = {
  "domain-imports-no-app": ["src/domain/Ids.ts -> src/sql/Lock.ts"],
  "services-only-domain-and-effect": [
    "services/Users.ts -> crypto",
    "services/Users.ts -> layers/Database.ts",
    "services/Users.ts -> npm:@effect/sql"
  ],
  "only-main-imports-live-layers": ["layers/Routes.ts -> layers/UsersLive.ts", "src/cli/Commands.ts -> layers/UsersLive.ts"],
  "migrations-not-layers-or-services": [
    "migrations/Migrate.ts -> layers/AdvisoryLock.ts",
    "migrations/Migrate.ts -> services/Users.ts"
  ],
  "api-not-layers": ["src/api/Api.ts -> layers/HttpSupport.ts"],
  "client-only-api-and-domain": ["src/client/Client.ts -> src/sql/Lock.ts"],
  "client-not-platform-node": ["src/client/Client.ts -> npm:@effect/platform-node"],
  "no-circular": ["layers/Listener.ts -> layers/Pool.ts"],
  "not-to-unresolvable": ["src/main.ts -> ./Missing.ts"]
}

const once = <A>(run: () => Promise<A>) => {
  let result: Promise<A> | undefined
  return () => (result ??= run())
}

const dependencies = (result: ICruiseResult) =>
  result.modules.flatMap((module) =>
    module.dependencies.map((dependency) => ({
      edge: `${module.source} -> ${target(dependency.resolved)}`,
      typeOnly: dependency.dependencyTypes.includes("type-only"),
      resolved: !dependency.couldNotResolve
    }))
  )

describe("Walls", () => {
  const good = once(() => cruise("good"))
  const bad = once(() => cruise("bad"))

  it("finds no violation in a tree that keeps every wall", async () => {
    const result = await good()
    assert.deepStrictEqual(result.summary.violations, [])
    assert.strictEqual(result.summary.error, 0)
  })

  it("resolves the good tree's allowed imports, type-only ones included", async () => {
    const found = dependencies(await good())
    for (const edge of [
      { edge: "services/Auth.ts -> npm:effect", typeOnly: true, resolved: true },
      { edge: "services/Auth.ts -> services/Users.ts", typeOnly: true, resolved: true },
      { edge: "services/Users.ts -> src/domain/Errors.ts", typeOnly: true, resolved: true },
      { edge: "layers/Main.ts -> layers/UsersLive.ts", typeOnly: false, resolved: true },
      { edge: "migrations/0001_init.ts -> src/sql/Lock.ts", typeOnly: false, resolved: true },
      { edge: "src/client/Client.ts -> src/api/Api.ts", typeOnly: false, resolved: true },
      { edge: "src/client/Client.ts -> npm:@effect/platform", typeOnly: false, resolved: true }
    ]) {
      assert.deepInclude(found, edge)
    }
    assert.deepStrictEqual(found.filter((dependency) => !dependency.resolved), [])
  })

  it("proves every rule of the config with the bad tree", async () => {
    const rules = ((await bad()).summary.ruleSetUsed?.forbidden ?? []).map((rule) => rule.name ?? "").sort()
    assert.deepStrictEqual(rules, Object.keys(expected).sort())
  })

  for (const [rule, imports] of Object.entries(expected)) {
    it(`reports ${rule} for the imports that cross it, as an error`, async () => {
      const result = await bad()
      assert.deepStrictEqual(crossings(result, rule), [...imports].sort())
      for (const violation of result.summary.violations.filter((violation) => violation.rule.name === rule)) {
        assert.strictEqual(violation.rule.severity, "error")
      }
    })
  }

  it("reports nothing in the bad tree beyond the crossings it was built for", async () => {
    const result = await bad()
    assert.strictEqual(result.summary.violations.length, Object.values(expected).flat().length)
    assert.strictEqual(result.summary.error, Object.values(expected).flat().length)
  })
})
