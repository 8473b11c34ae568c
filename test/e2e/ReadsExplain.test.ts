import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { datasetId, defaultReadsDataset, seedReadsDataset } from "../support/ReadsDataset.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

/**
 * Tables that carry organization_id: none of them may be read by a Seq Scan on these paths. organizations is the
 * tenant list itself (50 rows, one page here): reading its one page is the right plan, its primary key is there.
 */
const tenantTables = new Set([
  "users", "categories", "cases", "rius", "riu_case_associations", "investigations",
  "investigation_notes", "case_notes"
])

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly "Index Cond"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

const flatten = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(flatten)]

const explain = (text: string, params: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<{ "QUERY PLAN": ReadonlyArray<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, params)
    return flatten(rows[0]!["QUERY PLAN"][0]!.Plan)
  })

const describePlan = (nodes: ReadonlyArray<PlanNode>) =>
  nodes.map((n) => `${n["Node Type"]}${n["Relation Name"] ? ` on ${n["Relation Name"]}` : ""}${n["Index Name"] ? ` using ${n["Index Name"]}` : ""}`).join(" > ")

/** The plan reads tenant tables only through indexes, and (when asked) never sorts. */
const assertPlan = (
  name: string,
  nodes: ReadonlyArray<PlanNode>,
  options: { readonly sortFree: boolean; readonly index?: string; readonly cursorInIndex?: boolean }
) => {
  const seq = nodes.filter((n) => n["Node Type"] === "Seq Scan" && tenantTables.has(n["Relation Name"] ?? ""))
  assert.deepStrictEqual(seq.map((n) => n["Relation Name"]), [], `${name}: ${describePlan(nodes)}`)
  const reads = nodes.filter((n) => n["Relation Name"] !== undefined)
  assert.isAbove(reads.length, 0, `${name}: reads no table? ${describePlan(nodes)}`)
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

const caseColumns = "id, organization_id, reference, title, status, priority, category_id, created_by, created_at, updated_at"
const casesPage = (filter: string) => `
  SELECT ${caseColumns} FROM cases
   WHERE organization_id = $1 ${filter}
   ORDER BY created_at DESC, id DESC LIMIT $2`
const casesCursorPage = (filter: string) => `
  SELECT ${caseColumns} FROM cases
   WHERE organization_id = $1 ${filter} AND (created_at, id) < ($3, $4)
   ORDER BY created_at DESC, id DESC LIMIT $2`
const riuColumns = "id, organization_id, reference, kind, status, summary, reporter_anonymous, received_at, created_at, created_by"

const org = datasetId("org", 7)
const DatasetLive = Layer.effectDiscard(seedReadsDataset(defaultReadsDataset)).pipe(Layer.provideMerge(TestDatabaseLive))

describe("reads on 200,000 cases over 50 organizations", () => {
  it.layer(DatasetLive, { timeout: "120 seconds" })((it) => {
    it.effect("Cases.List pages (unfiltered, status, priority; first page and a cursor page) read an index in order and never sort", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [cursor] = yield* sql<{ created_at: Date; id: string }>`
          SELECT created_at, id FROM cases WHERE organization_id = ${org} ORDER BY created_at DESC, id DESC OFFSET 1000 LIMIT 1`
        const filters: ReadonlyArray<readonly [string, string, ReadonlyArray<unknown>, string]> = [
          ["unfiltered", "", [], "ix_cases_org_created"],
          ["status", "AND status = $5", ["OPEN"], "ix_cases_org_status_created"],
          ["status NEW", "AND status = $5", ["NEW"], "ix_cases_org_status_created"],
          ["priority", "AND priority = $5", ["HIGH"], "ix_cases_org_priority_created"],
          ["priority CRITICAL", "AND priority = $5", ["CRITICAL"], "ix_cases_org_priority_created"]
        ]
        for (const [name, filter, extra, index] of filters) {
          for (const limit of [10, 100]) {
            const first = filter.replace("$5", "$3")
            assertPlan(`${name} first page ${limit}`, yield* explain(casesPage(first), [org, limit + 1, ...extra]), { sortFree: true, index })
            assertPlan(`${name} cursor page ${limit}`, yield* explain(casesCursorPage(filter), [org, limit + 1, cursor!.created_at, cursor!.id, ...extra]), {
              sortFree: true,
              index,
              cursorInIndex: true
            })
          }
        }
      }))

    it.effect("a Cases.List category page is on an index (a top-N sort is allowed: the category is selective)", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [cursor] = yield* sql<{ created_at: Date; id: string; category_id: string }>`
          SELECT created_at, id, category_id FROM cases WHERE organization_id = ${org} AND category_id IS NOT NULL
           ORDER BY created_at DESC, id DESC OFFSET 50 LIMIT 1`
        assertPlan("category first page", yield* explain(casesPage("AND category_id = $3"), [org, 101, cursor!.category_id]), { sortFree: false })
        assertPlan("category cursor page", yield* explain(casesCursorPage("AND category_id = $5"), [org, 101, cursor!.created_at, cursor!.id, cursor!.category_id]), { sortFree: false })
      }))

    it.effect("Rius.List pages (unfiltered, status) read an index in order and never sort", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [cursor] = yield* sql<{ created_at: Date; id: string }>`
          SELECT created_at, id FROM rius WHERE organization_id = ${org} ORDER BY created_at DESC, id DESC OFFSET 500 LIMIT 1`
        const filters = [["unfiltered", "", [], "ix_rius_org_created"], ["status", "AND status = $5", ["TRIAGED"], "ix_rius_org_status_created"]] as const
        for (const [name, filter, extra, index] of filters) {
          const first = filter.replace("$5", "$3")
          assertPlan(`rius ${name} first`, yield* explain(`SELECT ${riuColumns} FROM rius WHERE organization_id = $1 ${first} ORDER BY created_at DESC, id DESC LIMIT $2`, [org, 51, ...extra]), { sortFree: true, index })
          assertPlan(`rius ${name} cursor`, yield* explain(`SELECT ${riuColumns} FROM rius WHERE organization_id = $1 ${filter} AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $2`, [org, 51, cursor!.created_at, cursor!.id, ...extra]), {
            sortFree: true,
            index,
            cursorInIndex: true
          })
        }
      }))

    it.effect("every loader statement of Cases.List, Cases.Get and Investigations.Get reads its tables through indexes", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const page = yield* sql<{ id: string; created_by: string; category_id: string | null }>`
          SELECT id, created_by, category_id FROM cases WHERE organization_id = ${org} ORDER BY created_at DESC, id DESC LIMIT 100`
        const caseIds = page.map((row) => row.id)
        const investigations = yield* sql<{ id: string; primary_investigator_id: string | null }>`
          SELECT id, primary_investigator_id FROM investigations WHERE organization_id = ${org} AND case_id = ANY(${caseIds})`
        const investigationIds = investigations.map((row) => row.id)
        const userIds = [...new Set(page.map((row) => row.created_by))]
        const categoryIds = [...new Set(page.flatMap((row) => (row.category_id === null ? [] : [row.category_id])))]
        const statements: ReadonlyArray<readonly [string, string, ReadonlyArray<unknown>]> = [
          ["organizations by id", "SELECT id, slug, name, status FROM organizations WHERE id = ANY($1)", [[org]]],
          ["users by id", "SELECT id, organization_id, email, display_name, role, status FROM users WHERE organization_id = $1 AND id = ANY($2)", [org, userIds]],
          ["categories by id", "SELECT id, organization_id, name, parent_id FROM categories WHERE organization_id = $1 AND id = ANY($2)", [org, categoryIds]],
          ["cases by id", `SELECT ${caseColumns} FROM cases WHERE organization_id = $1 AND id = ANY($2)`, [org, caseIds.slice(0, 1)]],
          ["cases by id (a page)", `SELECT ${caseColumns} FROM cases WHERE organization_id = $1 AND id = ANY($2)`, [org, caseIds]],
          ["investigations by id", "SELECT id, organization_id, case_id, status, primary_investigator_id, created_at FROM investigations WHERE organization_id = $1 AND id = ANY($2)", [org, investigationIds.slice(0, 1)]],
          ["rius by id", `SELECT ${riuColumns} FROM rius WHERE organization_id = $1 AND id = ANY($2)`, [org, [datasetId("riu", 7), datasetId("riu", 57)]]],
          ["RIU associations of cases, with the RIU", `
            SELECT a.case_id, r.id, r.reference, r.kind, r.status, r.summary, r.created_at FROM riu_case_associations a
              JOIN rius r ON r.organization_id = a.organization_id AND r.id = a.riu_id
             WHERE a.organization_id = $1 AND a.case_id = ANY($2) ORDER BY a.case_id, a.created_at, r.id`, [org, caseIds]],
          ["investigations of cases", "SELECT id, organization_id, case_id, status, primary_investigator_id, created_at FROM investigations WHERE organization_id = $1 AND case_id = ANY($2) ORDER BY case_id, created_at, id", [org, caseIds]],
          ["notes of investigations", "SELECT id, investigation_id, author_id, body, created_at FROM investigation_notes WHERE organization_id = $1 AND investigation_id = ANY($2) ORDER BY investigation_id, created_at, id", [org, investigationIds]],
          ["notes of cases", "SELECT id, case_id, author_id, body, created_at FROM case_notes WHERE organization_id = $1 AND case_id = ANY($2) ORDER BY case_id, created_at, id", [org, caseIds]]
        ]
        for (const [name, text, params] of statements) {
          assertPlan(name, yield* explain(text, params), { sortFree: false })
        }
      }))
  })
})
