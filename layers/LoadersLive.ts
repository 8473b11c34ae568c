import { SqlClient, SqlResolver } from "@effect/sql"
import { Data, Effect, Layer, Option, Schema } from "effect"
import type { CaseId, InvestigationId, OrganizationId } from "../src/domain/Ids.ts"
import { CaseLinkRow, CaseRow, CategoryRow, InvestigationRow, NoteRow, OrganizationRow, RiuLinkRow, RiuRow, UserRow } from "../src/domain/Records.ts"
import { type ByParent, Loaders } from "../services/Loaders.ts"
import { caseColumns, investigationColumns } from "./ReadRepository.ts"

interface Keyed {
  readonly organizationId: string
}

const unique = <A>(ids: ReadonlyArray<A>): ReadonlyArray<A> => (ids.length < 2 ? ids : [...new Set(ids)])

/**
 * The distinct organizations (almost always one) and ids of a batch, as two arrays: one bind parameter per
 * array whatever the count (`sql.in` binds one per value). A batch's statement is
 * `organization_id = ANY($orgs) AND <key> = ANY($ids)`: the planner reads the primary key or the key's index
 * for it (test/e2e/ReadsExplain.test.ts). Joined to `unnest` pairs, small tables (users, categories) were read
 * by a Seq Scan and a hash join, and PostgreSQL spent about 3x the CPU of `= ANY` (bench/results/reads.md).
 * Still tenant-safe: ids are globally unique keys, rows are grouped by their own organization, and each
 * request keeps only the ids it asked for.
 */
const keysOf = (requests: ReadonlyArray<{ readonly organizationId: string; readonly ids: ReadonlyArray<string> }>) => ({
  organizations: unique(requests.map((request) => request.organizationId)),
  ids: unique(requests.flatMap((request) => request.ids))
})

/**
 * Ids are checked inside the batch, not when the request is made: a request whose encoding fails
 * before it is queued, inside a sequential `Effect.all(…, { batching: true })` with requests after it,
 * never completes (the whole `all` hangs). Failing the batch instead fails every request in it.
 */
const checkKeys = Schema.decodeUnknown(Schema.Struct({ organizations: Schema.Array(Schema.UUID), ids: Schema.Array(Schema.UUID) }))

const groupBy = <K extends string, A>(rows: ReadonlyArray<A>, key: (row: A) => K, wanted: ReadonlySet<string>): ByParent<K, A> => {
  const groups = new Map<K, Array<A>>()
  for (const row of rows) {
    const k = key(row)
    if (!wanted.has(k)) continue
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [row])
    else group.push(row)
  }
  return groups
}

export const LoadersLive = Layer.effect(
  Loaders,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    /**
     * One coarse resolver: a request `{ organizationId, ids }` (a Data value, so requests compare by
     * value), grouped by organization on both sides, one statement per batch over the batch's keys.
     * Its tag is its own: two resolvers never share a batch. A request gets the rows of its own
     * organization only, and keeps the ids it asked for (the caller filters).
     */
    const coarse = <Row extends Keyed, RowEncoded>(
      tag: string,
      Result: Schema.Schema<Row, RowEncoded>,
      query: (organizations: ReadonlyArray<string>, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<unknown>, unknown>
    ) =>
      Effect.map(
        SqlResolver.grouped(`Loaders.${tag}`, {
          Request: Schema.Data(Schema.Struct({ organizationId: Schema.String, ids: Schema.Array(Schema.String) })),
          RequestGroupKey: (request) => request.organizationId,
          Result,
          ResultGroupKey: (row) => row.organizationId,
          execute: (requests) => {
            const keys = keysOf(requests)
            return keys.ids.length === 0 ? Effect.succeed([]) : Effect.flatMap(checkKeys(keys), (checked) => query(checked.organizations, checked.ids))
          }
        }),
        (resolver) => (organizationId: OrganizationId, ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Row>> =>
          ids.length === 0
            ? Effect.succeed([])
            : resolver.execute(Data.struct({ organizationId, ids: unique(ids) })).pipe(
              // The ids are already unique: a cache would only cost (shared/STACK-NOTES.md, resolvers).
              Effect.withRequestCaching(false),
              Effect.orDie
            )
      )

    const byId = <Id extends string, Row extends Keyed & { readonly id: Id }>(load: (organizationId: OrganizationId, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Row>>) =>
      (organizationId: OrganizationId, ids: ReadonlyArray<Id>) =>
        Effect.map(load(organizationId, ids), (rows) => {
          const wanted = new Set<string>(ids)
          return new Map(rows.filter((row) => wanted.has(row.id)).map((row) => [row.id, row] as const))
        })

    const byParent = <Id extends string, Row extends Keyed>(
      load: (organizationId: OrganizationId, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Row>>,
      parent: (row: Row) => Id
    ) =>
      (organizationId: OrganizationId, ids: ReadonlyArray<Id>) => Effect.map(load(organizationId, ids), (rows) => groupBy(rows, parent, new Set(ids)))

    const userColumns = sql`u.id, u.organization_id AS "organizationId", u.display_name AS "displayName", u.role`
    const selectUsers = (organizations: ReadonlyArray<string>, ids: ReadonlyArray<string>) =>
      sql`SELECT ${userColumns}
            FROM users u
            WHERE u.organization_id = ANY(${organizations}::uuid[]) AND u.id = ANY(${ids}::uuid[])`

    const users = yield* coarse("users", UserRow, selectUsers)

    const organizations = yield* coarse("organizations", OrganizationRow, (orgs, ids) =>
      sql`SELECT o.id, o.id AS "organizationId", o.slug, o.name, o.status
            FROM organizations o
            WHERE o.id = ANY(${orgs}::uuid[]) AND o.id = ANY(${ids}::uuid[])`)

    const categories = yield* coarse("categories", CategoryRow, (orgs, ids) =>
      sql`SELECT c.id, c.organization_id AS "organizationId", c.name
            FROM categories c
            WHERE c.organization_id = ANY(${orgs}::uuid[]) AND c.id = ANY(${ids}::uuid[])`)

    const cases = yield* coarse("cases", CaseRow, (orgs, ids) =>
      sql`SELECT ${caseColumns(sql)}
            FROM cases c
            WHERE c.organization_id = ANY(${orgs}::uuid[]) AND c.id = ANY(${ids}::uuid[])`)

    const investigations = yield* coarse("investigations", InvestigationRow, (orgs, ids) =>
      sql`SELECT ${investigationColumns(sql)}
            FROM investigations i
            WHERE i.organization_id = ANY(${orgs}::uuid[]) AND i.id = ANY(${ids}::uuid[])`)

    const rius = yield* coarse("rius", RiuRow, (orgs, ids) =>
      sql`SELECT r.id, r.organization_id AS "organizationId", r.reference, r.kind, r.status, r.created_at AS "createdAt"
            FROM rius r
            WHERE r.organization_id = ANY(${orgs}::uuid[]) AND r.id = ANY(${ids}::uuid[])`)

    const riuLinksOfCases = yield* coarse("riuLinksOfCases", RiuLinkRow, (orgs, ids) =>
      sql`SELECT a.organization_id AS "organizationId", a.case_id AS "caseId", a.created_at AS "associatedAt",
                 r.id AS "riuId", r.reference AS "riuReference", r.kind AS "riuKind", r.status AS "riuStatus"
            FROM riu_case_associations a
            JOIN rius r ON r.organization_id = a.organization_id AND r.id = a.riu_id
            WHERE a.organization_id = ANY(${orgs}::uuid[]) AND a.case_id = ANY(${ids}::uuid[])
           ORDER BY a.created_at, r.id`)

    const caseLinksOfRius = yield* coarse("caseLinksOfRius", CaseLinkRow, (orgs, ids) =>
      sql`SELECT a.organization_id AS "organizationId", a.riu_id AS "riuId", a.case_id AS "caseId"
            FROM riu_case_associations a
            WHERE a.organization_id = ANY(${orgs}::uuid[]) AND a.riu_id = ANY(${ids}::uuid[])
           ORDER BY a.created_at, a.case_id`)

    const investigationsOfCases = yield* coarse("investigationsOfCases", InvestigationRow, (orgs, ids) =>
      sql`SELECT ${investigationColumns(sql)}
            FROM investigations i
            WHERE i.organization_id = ANY(${orgs}::uuid[]) AND i.case_id = ANY(${ids}::uuid[])
           ORDER BY i.created_at, i.id`)

    /** Notes of a batch of parents (investigations or cases), in creation order. */
    const notesOf = (table: "investigation_notes" | "case_notes", parent: "investigation_id" | "case_id") =>
      (orgs: ReadonlyArray<string>, ids: ReadonlyArray<string>) =>
        sql`SELECT n.id, n.organization_id AS "organizationId", n.${sql(parent)} AS "parentId", n.author_id AS "authorId",
                   n.body, n.created_at AS "createdAt"
              FROM ${sql(table)} n
             WHERE n.organization_id = ANY(${orgs}::uuid[]) AND n.${sql(parent)} = ANY(${ids}::uuid[])
             ORDER BY n.created_at, n.id`

    const notesOfInvestigations = yield* coarse("notesOfInvestigations", NoteRow, notesOf("investigation_notes", "investigation_id"))
    const notesOfCases = yield* coarse("notesOfCases", NoteRow, notesOf("case_notes", "case_id"))

    /**
     * The single lookup, for code paths that each want one user: requests are `{ organizationId, id }`
     * Data values, so a per-request cache (layers/RequestCache.ts) answers a repeated lookup without a
     * statement; lookups made together still share one statement.
     */
    const single = yield* SqlResolver.grouped("Loaders.user", {
      Request: Schema.Data(Schema.Struct({ organizationId: Schema.String, id: Schema.String })),
      RequestGroupKey: (request) => request.organizationId,
      Result: UserRow,
      ResultGroupKey: (row) => row.organizationId,
      execute: (requests) =>
        Effect.flatMap(
          checkKeys(keysOf(requests.map((request) => ({ organizationId: request.organizationId, ids: [request.id] })))),
          (checked) => selectUsers(checked.organizations, checked.ids)
        )
    })

    return Loaders.of({
      users: byId(users),
      user: (organizationId, id) =>
        single.execute(Data.struct({ organizationId, id })).pipe(
          Effect.orDie,
          Effect.map((rows) => Option.fromNullable(rows.find((row) => row.id === id)))
        ),
      organizations: byId(organizations),
      categories: byId(categories),
      cases: byId(cases),
      investigations: byId(investigations),
      rius: byId(rius),
      riuLinksOfCases: byParent(riuLinksOfCases, (row) => row.caseId),
      caseLinksOfRius: byParent(caseLinksOfRius, (row) => row.riuId),
      investigationsOfCases: byParent(investigationsOfCases, (row) => row.caseId),
      notesOfInvestigations: byParent(notesOfInvestigations, (row) => row.parentId as InvestigationId),
      notesOfCases: byParent(notesOfCases, (row) => row.parentId as CaseId)
    })
  })
)
