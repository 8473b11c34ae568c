import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { CaseId, CategoryId, InvestigationId, OrganizationId, RiuId } from "../../src/domain/Ids.ts"
import type { Role } from "../../src/domain/Roles.ts"
import type { TestUser } from "./TestApp.ts"

const statuses = ["NEW", "OPEN", "IN_PROGRESS", "PENDING", "CLOSED"] as const
const priorities = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const

export interface CaseTreeFixture {
  readonly organizationId: OrganizationId
  readonly categories: readonly [CategoryId, CategoryId]
  /** In insertion order: created_at descending (equal within a group of `sameInstant`). */
  readonly cases: ReadonlyArray<{ readonly id: CaseId; readonly status: string; readonly priority: string; readonly categoryId: CategoryId | null }>
  readonly investigations: ReadonlyArray<{ readonly id: InvestigationId; readonly caseId: CaseId }>
  readonly rius: ReadonlyArray<RiuId>
}

export interface CaseTreeOptions {
  readonly cases: number
  /** Cases that share one created_at (the keyset's tie-breaker is then the id). */
  readonly sameInstant?: number
  /** Investigations of each case (each with `notesPerInvestigation` notes). */
  readonly investigationsPerCase?: number
  readonly notesPerInvestigation?: number
  readonly notesPerCase?: number
  /** Added to the references, so that several trees fit in one organization. */
  readonly tag?: string
}

/**
 * Cases of an organization with their whole tree, inserted in a few statements: categories, cases
 * (statuses, priorities and categories in turn, some without a category; created by ADMIN or
 * INVESTIGATOR), one RIU linked to each case plus one unlinked, investigations led by the INVESTIGATOR
 * (every other one without a lead), investigation notes and case notes by ADMIN and VIEWER.
 */
export const seedCaseTree = (users: Record<Role, TestUser>, options: CaseTreeOptions) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const organizationId = users.ADMIN.organizationId
    const tag = options.tag ?? Math.random().toString(36).slice(2, 8)
    const sameInstant = options.sameInstant ?? 1
    const base = Date.parse("2026-06-01T12:00:00Z")
    const categories = yield* sql<{ id: CategoryId }>`
      INSERT INTO categories ${sql.insert([1, 2].map((n) => ({ organization_id: organizationId, name: `category ${n} ${tag}` })))} RETURNING id`
    const category = (i: number) => (i % 3 === 2 ? null : categories[i % 3]!.id)
    const caseRows = yield* sql<{ id: CaseId; status: string; priority: string; category_id: CategoryId | null }>`
      INSERT INTO cases ${sql.insert(Array.from({ length: options.cases }, (_, i) => ({
        organization_id: organizationId,
        reference: `${tag}-${i}`,
        title: `case ${i} of ${tag}`,
        status: statuses[i % statuses.length]!,
        priority: priorities[i % priorities.length]!,
        category_id: category(i),
        created_by: i % 2 === 0 ? users.ADMIN.id : users.INVESTIGATOR.id,
        created_at: new Date(base - Math.floor(i / sameInstant) * 60_000)
      })))}
      RETURNING id, status, priority, category_id`
    const cases = caseRows.map((row) => ({ id: row.id, status: row.status, priority: row.priority, categoryId: row.category_id }))
    const rius = yield* sql<{ id: RiuId }>`
      INSERT INTO rius ${sql.insert(Array.from({ length: options.cases + 1 }, (_, i) => ({
        organization_id: organizationId,
        reference: `${tag}-RIU-${i}`,
        kind: "WEB_FORM",
        status: i === options.cases ? "RECEIVED" : "LINKED",
        summary: `report ${i}`,
        created_at: new Date(base - Math.floor(i / sameInstant) * 60_000)
      })))}
      RETURNING id`
    if (cases.length > 0) {
      yield* sql`INSERT INTO riu_case_associations ${sql.insert(cases.map((c, i) => ({ organization_id: organizationId, riu_id: rius[i]!.id, case_id: c.id })))}`
    }
    const perCase = options.investigationsPerCase ?? 1
    const investigationRows = perCase * cases.length === 0 ? [] : yield* sql<{ id: InvestigationId; case_id: CaseId }>`
      INSERT INTO investigations ${sql.insert(cases.flatMap((c, i) => Array.from({ length: perCase }, (_, k) => ({
        organization_id: organizationId,
        case_id: c.id,
        primary_investigator_id: (i + k) % 2 === 0 ? users.INVESTIGATOR.id : null
      }))))}
      RETURNING id, case_id`
    const investigations = investigationRows.map((row) => ({ id: row.id, caseId: row.case_id }))
    const notes = (parents: ReadonlyArray<{ readonly id: string }>, count: number, authors: readonly [TestUser, TestUser], body: string) =>
      parents.flatMap((parent) => Array.from({ length: count }, (_, k) => ({
        organization_id: organizationId,
        parent: parent.id,
        author_id: authors[k % 2]!.id,
        body: `${body} ${k}`,
        created_at: new Date(base + (k + 1) * 1000)
      })))
    const investigationNotes = notes(investigations, options.notesPerInvestigation ?? 2, [users.ADMIN, users.VIEWER], "note")
    if (investigationNotes.length > 0) {
      yield* sql`INSERT INTO investigation_notes ${sql.insert(investigationNotes.map(({ parent, ...note }) => ({ ...note, investigation_id: parent })))}`
    }
    const caseNotes = notes(cases, options.notesPerCase ?? 1, [users.VIEWER, users.ADMIN], "case note")
    if (caseNotes.length > 0) {
      yield* sql`INSERT INTO case_notes ${sql.insert(caseNotes.map(({ parent, ...note }) => ({ ...note, case_id: parent })))}`
    }
    return { organizationId, categories: [categories[0]!.id, categories[1]!.id], cases, investigations, rius: rius.map((r) => r.id) } satisfies CaseTreeFixture
  }).pipe(Effect.orDie)
