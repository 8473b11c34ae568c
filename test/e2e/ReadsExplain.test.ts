import { assert, describe, it } from "@effect/vitest"
import { SqlClient, Statement } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { CasesLive } from "../../layers/CasesLive.ts"
import { InvestigationsLive } from "../../layers/InvestigationsLive.ts"
import { LoadersLive } from "../../layers/LoadersLive.ts"
import { RiusLive } from "../../layers/RiusLive.ts"
import type { AuthenticatedUser } from "../../src/domain/Auth.ts"
import type { CaseId, CategoryId, InvestigationId, OrganizationId, RiuId, SessionId, UserId } from "../../src/domain/Ids.ts"
import { Cases } from "../../services/Cases.ts"
import { Investigations } from "../../services/Investigations.ts"
import { Loaders } from "../../services/Loaders.ts"
import { Rius } from "../../services/Rius.ts"
import { datasetId, defaultReadsDataset, seedReadsDataset } from "../support/ReadsDataset.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

/**
 * Tables that carry organization_id: none of them may be read by a Seq Scan on these paths. organizations is the
 * tenant list itself (50 rows, one page here): reading its one page is the right plan, its primary key is there.
 */
const tenantTables = new Set([
  "users", "categories", "cases", "rius", "riu_case_associations", "investigations", "investigation_notes", "case_notes"
])

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly "Index Cond"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

interface Captured {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

const flatten = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(flatten)]

/** Runs `effect` (a procedure) and returns the statements it sent, as compiled for PostgreSQL. */
const capture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const statements: Array<Captured> = []
    const result = yield* effect.pipe(
      Statement.withTransformer((statement) =>
        Effect.sync(() => {
          const [sql, params] = statement.compile()
          statements.push({ sql, params })
          return statement
        }))
    )
    return { result, statements: statements as ReadonlyArray<Captured> }
  })

const explain = ({ params, sql: text }: Captured) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<{ "QUERY PLAN": ReadonlyArray<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, params)
    return flatten(rows[0]!["QUERY PLAN"][0]!.Plan)
  })

const describePlan = (nodes: ReadonlyArray<PlanNode>) =>
  nodes.map((n) => `${n["Node Type"]}${n["Relation Name"] ? ` on ${n["Relation Name"]}` : ""}${n["Index Name"] ? ` using ${n["Index Name"]}` : ""}`).join(" > ")

const oneLine = (sql: string) => sql.replace(/\s+/g, " ").trim()

/** The plan reads tenant tables only through indexes, and (when asked) never sorts and reads the expected index. */
const assertPlan = (
  name: string,
  nodes: ReadonlyArray<PlanNode>,
  options: { readonly sortFree: boolean; readonly index?: string; readonly cursorInIndex?: boolean }
) => {
  const seq = nodes.filter((n) => n["Node Type"] === "Seq Scan" && tenantTables.has(n["Relation Name"] ?? ""))
  assert.deepStrictEqual(seq.map((n) => n["Relation Name"]), [], `${name}: ${describePlan(nodes)}`)
  assert.isTrue(nodes.some((n) => n["Relation Name"] !== undefined), `${name} reads no table? ${describePlan(nodes)}`)
  if (options.sortFree) {
    const sorts = nodes.filter((n) => n["Node Type"] === "Sort" || n["Node Type"] === "Incremental Sort")
    assert.deepStrictEqual(sorts.map((n) => n["Node Type"]), [], `${name}: ${describePlan(nodes)}`)
  }
  if (options.index !== undefined) {
    const scan = nodes.find((n) => n["Index Name"] === options.index)
    assert.isDefined(scan, `${name}: ${describePlan(nodes)}`)
    // The cursor bounds the index range (a row comparison in the Index Cond), not a filter over the rows before it.
    if (options.cursorInIndex === true) assert.match(scan?.["Index Cond"] ?? "", /ROW\(created_at, id\) </, `${name}: ${scan?.["Index Cond"]}`)
  }
}

/** The keyset page is the one statement with a LIMIT; every other statement is a loader's. */
const isPage = (statement: Captured) => /\bLIMIT\b/.test(statement.sql)

const org = datasetId("org", 7) as OrganizationId
const viewer: AuthenticatedUser = {
  userId: datasetId("user", 7) as UserId,
  organizationId: org,
  sessionId: "00000000-0000-4000-8000-000000000000" as SessionId,
  role: "VIEWER",
  expiresAt: new Date(Date.now() + 3_600_000)
}

const ServicesLive = Layer.mergeAll(CasesLive, InvestigationsLive, RiusLive).pipe(
  Layer.provideMerge(LoadersLive),
  Layer.provideMerge(Layer.effectDiscard(seedReadsDataset(defaultReadsDataset))),
  Layer.provideMerge(TestDatabaseLive)
)

/** Explains every statement a procedure ran: its page (when it has one) with `page`, the loaders' with no sort rule. */
const explainAll = (name: string, statements: ReadonlyArray<Captured>, page?: { readonly index: string; readonly sortFree: boolean; readonly cursor: boolean }) =>
  Effect.gen(function* () {
    assert.isAbove(statements.length, 0, `${name} ran no statement`)
    if (page !== undefined) assert.strictEqual(statements.filter(isPage).length, 1, `${name}: ${statements.map((s) => oneLine(s.sql)).join("\n")}`)
    for (const statement of statements) {
      const label = `${name}: ${oneLine(statement.sql).slice(0, 160)}`
      if (isPage(statement) && page !== undefined) {
        assertPlan(label, yield* explain(statement), { sortFree: page.sortFree, index: page.index, cursorInIndex: page.cursor })
      } else {
        assertPlan(label, yield* explain(statement), { sortFree: false })
      }
    }
  })

describe("reads on 200,000 cases over 50 organizations", () => {
  it.layer(ServicesLive, { timeout: "150 seconds" })((it) => {
    it.effect("Cases.List pages (unfiltered, status, priority; first page and a cursor page) read an index in order, never sort, and their loaders use indexes", () =>
      Effect.gen(function* () {
        const cases = yield* Cases
        const filters = [
          ["unfiltered", {}, "ix_cases_org_created"],
          ["status OPEN", { status: "OPEN" }, "ix_cases_org_status_created"],
          ["status NEW", { status: "NEW" }, "ix_cases_org_status_created"],
          ["priority HIGH", { priority: "HIGH" }, "ix_cases_org_priority_created"],
          ["priority CRITICAL", { priority: "CRITICAL" }, "ix_cases_org_priority_created"]
        ] as const
        for (const [name, filter, index] of filters) {
          for (const limit of [10, 100]) {
            const first = yield* capture(cases.list(viewer, { ...filter, limit }))
            assert.strictEqual(first.result.cases.length, limit)
            yield* explainAll(`Cases.List ${name} ${limit}`, first.statements, { index, sortFree: true, cursor: false })
            const next = yield* capture(cases.list(viewer, { ...filter, limit, cursor: first.result.nextCursor! }))
            assert.strictEqual(next.result.cases.length, limit)
            yield* explainAll(`Cases.List ${name} ${limit} after a cursor`, next.statements, { index, sortFree: true, cursor: true })
          }
        }
      }))

    it.effect("a Cases.List category page is on an index (a selective category may top-N sort)", () =>
      Effect.gen(function* () {
        const cases = yield* Cases
        const categoryId = datasetId("cat", 7) as CategoryId
        const first = yield* capture(cases.list(viewer, { categoryId, limit: 20 }))
        assert.strictEqual(first.result.cases.length, 20)
        yield* explainAll("Cases.List category", first.statements, { index: "ix_cases_org_category_created", sortFree: false, cursor: false })
        const next = yield* capture(cases.list(viewer, { categoryId, limit: 20, cursor: first.result.nextCursor! }))
        yield* explainAll("Cases.List category after a cursor", next.statements, { index: "ix_cases_org_category_created", sortFree: false, cursor: true })
      }))

    it.effect("Cases.Get and Investigations.Get read every relation through indexes", () =>
      Effect.gen(function* () {
        // Case 7 (the first of organization 7): two investigations, investigation notes, case notes, RIU links.
        const detail = yield* capture((yield* Cases).get(viewer, datasetId("case", 7) as CaseId))
        assert.strictEqual(detail.result.investigations.length, 2)
        assert.isAbove(detail.result.notes.length, 0)
        assert.isAbove(detail.result.rius.length, 0)
        assert.isTrue(detail.result.investigations.some((i) => i.notes.length > 0))
        yield* explainAll("Cases.Get", detail.statements)
        const investigation = yield* capture((yield* Investigations).get(viewer, datasetId("inv", "7-0") as InvestigationId))
        assert.isAbove(investigation.result.notes.length, 0)
        yield* explainAll("Investigations.Get", investigation.statements)
      }))

    it.effect("the loaders no procedure above runs (organizations, RIUs by id, the single user) read through indexes", () =>
      Effect.gen(function* () {
        const loaders = yield* Loaders
        const riuIds = [7, 57, 107].map((n) => datasetId("riu", n) as RiuId)
        const { result, statements } = yield* capture(Effect.all([
          loaders.organizations(org, [org]),
          loaders.rius(org, riuIds),
          loaders.user(org, viewer.userId)
        ], { batching: true }))
        assert.strictEqual(result[1].size, 3)
        assert.isTrue(Option.isSome(result[2]))
        assert.strictEqual(statements.length, 3)
        yield* explainAll("loaders by id", statements)
      }))

    it.effect("Rius.List pages (unfiltered, status) read an index in order and never sort", () =>
      Effect.gen(function* () {
        const rius = yield* Rius
        const filters = [["unfiltered", {}, "ix_rius_org_created"], ["status TRIAGED", { status: "TRIAGED" }, "ix_rius_org_status_created"]] as const
        for (const [name, filter, index] of filters) {
          const first = yield* capture(rius.list(viewer, { ...filter, limit: 50 }))
          assert.strictEqual(first.result.rius.length, 50)
          yield* explainAll(`Rius.List ${name}`, first.statements, { index, sortFree: true, cursor: false })
          const next = yield* capture(rius.list(viewer, { ...filter, limit: 50, cursor: first.result.nextCursor! }))
          yield* explainAll(`Rius.List ${name} after a cursor`, next.statements, { index, sortFree: true, cursor: true })
        }
      }))
  })
})
