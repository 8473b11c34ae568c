import { Effect } from "effect"
import type { CaseId, CategoryId, InvestigationId, OrganizationId, UserId } from "../src/domain/Ids.ts"
import type { CaseRow, CategoryRow, InvestigationRow, NoteRow, RiuLinkRow, UserRow } from "../src/domain/Records.ts"
import type { CaseDetail, CaseView, InvestigationDetail, NoteView, UserView } from "../src/domain/Reads.ts"
import type { ById, ByParent, Loaders } from "../services/Loaders.ts"

/** A row the foreign keys guarantee: its absence is a broken database, a defect. */
const required = <K extends string, A>(map: ById<K, A>, id: K, what: string): A => {
  const row = map.get(id)
  if (row === undefined) throw new Error(`${what} ${id} is missing`)
  return row
}

const userView = (users: ById<UserId, UserRow>, id: UserId): UserView => {
  const user = required(users, id, "user")
  return { id: user.id, displayName: user.displayName, role: user.role }
}

const noteViews = (notes: ReadonlyArray<NoteRow>, users: ById<UserId, UserRow>): ReadonlyArray<NoteView> =>
  notes.map((note) => ({ id: note.id, body: note.body, author: userView(users, note.authorId), createdAt: note.createdAt.toISOString() }))

const investigator = (investigation: InvestigationRow, users: ById<UserId, UserRow>) =>
  investigation.primaryInvestigatorId === null ? null : userView(users, investigation.primaryInvestigatorId)

const none: ReadonlyArray<never> = []

interface Relations {
  readonly categories: ById<CategoryId, CategoryRow>
  readonly links: ByParent<CaseId, RiuLinkRow>
  readonly users: ById<UserId, UserRow>
}

const caseFields = (row: CaseRow, { categories, links, users }: Relations) => {
  const category = row.categoryId === null ? undefined : categories.get(row.categoryId)
  return {
    id: row.id,
    reference: row.reference,
    title: row.title,
    status: row.status,
    priority: row.priority,
    createdAt: row.createdAt.toISOString(),
    creator: userView(users, row.createdBy),
    category: category === undefined ? null : { id: category.id, name: category.name },
    rius: (links.get(row.id) ?? none).map((link) => ({
      id: link.riuId,
      reference: link.riuReference,
      kind: link.riuKind,
      status: link.riuStatus,
      associatedAt: link.associatedAt.toISOString()
    }))
  }
}

/** A case of a list with its relations, from lookups already filled (the loaders' here; bench/reads' peers fill their own). */
export const caseSummary = (
  row: CaseRow,
  relations: Relations & { readonly investigations: ByParent<CaseId, InvestigationRow> }
): CaseView => ({
  ...caseFields(row, relations),
  investigations: (relations.investigations.get(row.id) ?? none).map((i) => ({ id: i.id, status: i.status, primaryInvestigator: investigator(i, relations.users) }))
})

const categoryIds = (rows: ReadonlyArray<CaseRow>) => rows.flatMap((row) => (row.categoryId === null ? [] : [row.categoryId]))

const investigatorIds = (investigations: Iterable<ReadonlyArray<InvestigationRow>>) =>
  [...investigations].flatMap((list) => list.flatMap((i) => (i.primaryInvestigatorId === null ? [] : [i.primaryInvestigatorId])))

/**
 * Trees of cases and investigations, level by level: one coarse request per relation per level, the
 * requests of a level batched together, and every user of the tree (creators, primary investigators,
 * note authors) in one last request. So a tree costs the same statements whatever the number of rows.
 */
export const makeCaseTrees = (loaders: Loaders["Type"]) => {
  /** Cases of a page: categories, RIU links and investigations (one level), then the users. */
  const summaries = (organizationId: OrganizationId, rows: ReadonlyArray<CaseRow>): Effect.Effect<ReadonlyArray<CaseView>> =>
    Effect.gen(function* () {
      if (rows.length === 0) return none
      const caseIds = rows.map((row) => row.id)
      const [categories, links, investigations] = yield* Effect.all([
        loaders.categories(organizationId, categoryIds(rows)),
        loaders.riuLinksOfCases(organizationId, caseIds),
        loaders.investigationsOfCases(organizationId, caseIds)
      ], { batching: true })
      const users = yield* loaders.users(organizationId, [...rows.map((row) => row.createdBy), ...investigatorIds(investigations.values())])
      return rows.map((row) => caseSummary(row, { categories, links, investigations, users }))
    })

  /** One case: the case and its relations by its id (one level), then category and investigation notes, then the users. */
  const detail = (organizationId: OrganizationId, id: CaseId): Effect.Effect<CaseDetail | undefined> =>
    Effect.gen(function* () {
      const [cases, links, investigationsByCase, caseNotes] = yield* Effect.all([
        loaders.cases(organizationId, [id]),
        loaders.riuLinksOfCases(organizationId, [id]),
        loaders.investigationsOfCases(organizationId, [id]),
        loaders.notesOfCases(organizationId, [id])
      ], { batching: true })
      const row = cases.get(id)
      if (row === undefined) return undefined
      const investigations = investigationsByCase.get(id) ?? none
      const [categories, investigationNotes] = yield* Effect.all([
        loaders.categories(organizationId, categoryIds([row])),
        loaders.notesOfInvestigations(organizationId, investigations.map((i) => i.id))
      ], { batching: true })
      const notes = caseNotes.get(id) ?? none
      const users = yield* loaders.users(organizationId, [
        row.createdBy,
        ...investigatorIds([investigations]),
        ...notes.map((note) => note.authorId),
        ...[...investigationNotes.values()].flatMap((list) => list.map((note) => note.authorId))
      ])
      return {
        ...caseFields(row, { categories, links, users }),
        investigations: investigations.map((i) => ({
          id: i.id,
          status: i.status,
          primaryInvestigator: investigator(i, users),
          notes: noteViews(investigationNotes.get(i.id) ?? none, users)
        })),
        notes: noteViews(notes, users)
      }
    })

  /** One investigation and its notes by its id (one level), then the users. */
  const investigation = (organizationId: OrganizationId, id: InvestigationId): Effect.Effect<InvestigationDetail | undefined> =>
    Effect.gen(function* () {
      const [investigations, notesById] = yield* Effect.all([
        loaders.investigations(organizationId, [id]),
        loaders.notesOfInvestigations(organizationId, [id])
      ], { batching: true })
      const row = investigations.get(id)
      if (row === undefined) return undefined
      const notes = notesById.get(id) ?? none
      const users = yield* loaders.users(organizationId, [...investigatorIds([[row]]), ...notes.map((note) => note.authorId)])
      return { id: row.id, caseId: row.caseId, status: row.status, primaryInvestigator: investigator(row, users), notes: noteViews(notes, users) }
    })

  return { summaries, detail, investigation }
}
