import { SqlClient, SqlResolver } from "@effect/sql"
import { Data, Effect, Layer, Option, Schema } from "effect"
import { CaseId, CategoryId, InvestigationId, OrganizationId, RiuId, UserId } from "../src/domain/Ids.ts"
import { CaseLinkRow, CaseRow, CategoryRow, InvestigationRow, NoteRow, OrganizationRow, RiuLinkRow, RiuRow, UserRow } from "../src/domain/Records.ts"
import { type ByParent, Loaders } from "../services/Loaders.ts"
import { caseColumns, investigationColumns } from "./ReadRepository.ts"

interface Keyed {
  readonly organizationId: string
}

/**
 * The (organization, id) pairs of a batch, each pair once, as two parallel arrays for `unnest`: one
 * bind parameter per array whatever the count (`sql.in` binds one per value).
 */
const pairsOf = (requests: ReadonlyArray<{ readonly organizationId: string; readonly ids: ReadonlyArray<string> }>) => {
  const seen = new Set<string>()
  const organizations: Array<string> = []
  const ids: Array<string> = []
  for (const request of requests) {
    for (const id of request.ids) {
      const key = `${request.organizationId}/${id}`
      if (seen.has(key)) continue
      seen.add(key)
      organizations.push(request.organizationId)
      ids.push(id)
    }
  }
  return { organizations, ids }
}

const unique = <A>(ids: ReadonlyArray<A>): ReadonlyArray<A> => (ids.length < 2 ? ids : [...new Set(ids)])

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
     * value), grouped by organization on both sides, one statement per batch over the batch's pairs.
     * Its tag is its own: two resolvers never share a batch. A request gets the rows of its own
     * organization only, and keeps the ids it asked for (the caller filters).
     */
    const coarse = <Id extends string, IdEncoded extends string, Row extends Keyed, RowEncoded>(
      tag: string,
      id: Schema.Schema<Id, IdEncoded>,
      Result: Schema.Schema<Row, RowEncoded>,
      query: (organizations: ReadonlyArray<string>, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<unknown>, unknown>
    ) =>
      Effect.map(
        SqlResolver.grouped(`Loaders.${tag}`, {
          Request: Schema.Data(Schema.Struct({ organizationId: OrganizationId, ids: Schema.Array(id) })),
          RequestGroupKey: (request) => request.organizationId,
          Result,
          ResultGroupKey: (row) => row.organizationId,
          execute: (requests) => {
            const pairs = pairsOf(requests)
            return pairs.ids.length === 0 ? Effect.succeed([]) : query(pairs.organizations, pairs.ids)
          }
        }),
        (resolver) => (organizationId: OrganizationId, ids: ReadonlyArray<Id>): Effect.Effect<ReadonlyArray<Row>> =>
          ids.length === 0
            ? Effect.succeed([])
            : resolver.execute(Data.struct({ organizationId, ids: unique(ids) })).pipe(
              // The ids are already unique: a cache would only cost (shared/STACK-NOTES.md, resolvers).
              Effect.withRequestCaching(false),
              Effect.orDie
            )
      )

    const byId = <Id extends string, Row extends Keyed & { readonly id: Id }>(load: (organizationId: OrganizationId, ids: ReadonlyArray<Id>) => Effect.Effect<ReadonlyArray<Row>>) =>
      (organizationId: OrganizationId, ids: ReadonlyArray<Id>) =>
        Effect.map(load(organizationId, ids), (rows) => {
          const wanted = new Set<string>(ids)
          return new Map(rows.filter((row) => wanted.has(row.id)).map((row) => [row.id, row] as const))
        })

    const byParent = <Id extends string, Row extends Keyed>(
      load: (organizationId: OrganizationId, ids: ReadonlyArray<Id>) => Effect.Effect<ReadonlyArray<Row>>,
      parent: (row: Row) => Id
    ) =>
      (organizationId: OrganizationId, ids: ReadonlyArray<Id>) => Effect.map(load(organizationId, ids), (rows) => groupBy(rows, parent, new Set(ids)))

    const userColumns = sql`u.id, u.organization_id AS "organizationId", u.display_name AS "displayName", u.role`
    const selectUsers = (organizations: ReadonlyArray<string>, ids: ReadonlyArray<string>) =>
      sql`SELECT ${userColumns}
            FROM unnest(${organizations}::uuid[], ${ids}::uuid[]) AS k(organization_id, id)
            JOIN users u ON u.organization_id = k.organization_id AND u.id = k.id`

    const users = yield* coarse("users", UserId, UserRow, selectUsers)

    const organizations = yield* coarse("organizations", OrganizationId, OrganizationRow, (orgs, ids) =>
      sql`SELECT o.id, o.id AS "organizationId", o.slug, o.name, o.status
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, id)
            JOIN organizations o ON o.id = k.organization_id AND o.id = k.id`)

    const categories = yield* coarse("categories", CategoryId, CategoryRow, (orgs, ids) =>
      sql`SELECT c.id, c.organization_id AS "organizationId", c.name
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, id)
            JOIN categories c ON c.organization_id = k.organization_id AND c.id = k.id`)

    const cases = yield* coarse("cases", CaseId, CaseRow, (orgs, ids) =>
      sql`SELECT ${caseColumns(sql)}
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, id)
            JOIN cases c ON c.organization_id = k.organization_id AND c.id = k.id`)

    const investigations = yield* coarse("investigations", InvestigationId, InvestigationRow, (orgs, ids) =>
      sql`SELECT ${investigationColumns(sql)}
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, id)
            JOIN investigations i ON i.organization_id = k.organization_id AND i.id = k.id`)

    const rius = yield* coarse("rius", RiuId, RiuRow, (orgs, ids) =>
      sql`SELECT r.id, r.organization_id AS "organizationId", r.reference, r.kind, r.status, r.created_at AS "createdAt"
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, id)
            JOIN rius r ON r.organization_id = k.organization_id AND r.id = k.id`)

    const riuLinksOfCases = yield* coarse("riuLinksOfCases", CaseId, RiuLinkRow, (orgs, ids) =>
      sql`SELECT a.organization_id AS "organizationId", a.case_id AS "caseId", a.created_at AS "associatedAt",
                 r.id AS "riuId", r.reference AS "riuReference", r.kind AS "riuKind", r.status AS "riuStatus"
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, case_id)
            JOIN riu_case_associations a ON a.organization_id = k.organization_id AND a.case_id = k.case_id
            JOIN rius r ON r.organization_id = a.organization_id AND r.id = a.riu_id
           ORDER BY a.created_at, r.id`)

    const caseLinksOfRius = yield* coarse("caseLinksOfRius", RiuId, CaseLinkRow, (orgs, ids) =>
      sql`SELECT a.organization_id AS "organizationId", a.riu_id AS "riuId", a.case_id AS "caseId"
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, riu_id)
            JOIN riu_case_associations a ON a.organization_id = k.organization_id AND a.riu_id = k.riu_id
           ORDER BY a.created_at, a.case_id`)

    const investigationsOfCases = yield* coarse("investigationsOfCases", CaseId, InvestigationRow, (orgs, ids) =>
      sql`SELECT ${investigationColumns(sql)}
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, case_id)
            JOIN investigations i ON i.organization_id = k.organization_id AND i.case_id = k.case_id
           ORDER BY i.created_at, i.id`)

    const notesOfInvestigations = yield* coarse("notesOfInvestigations", InvestigationId, NoteRow, (orgs, ids) =>
      sql`SELECT n.id, n.organization_id AS "organizationId", n.investigation_id AS "parentId", n.author_id AS "authorId",
                 n.body, n.created_at AS "createdAt"
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, investigation_id)
            JOIN investigation_notes n ON n.organization_id = k.organization_id AND n.investigation_id = k.investigation_id
           ORDER BY n.created_at, n.id`)

    const notesOfCases = yield* coarse("notesOfCases", CaseId, NoteRow, (orgs, ids) =>
      sql`SELECT n.id, n.organization_id AS "organizationId", n.case_id AS "parentId", n.author_id AS "authorId",
                 n.body, n.created_at AS "createdAt"
            FROM unnest(${orgs}::uuid[], ${ids}::uuid[]) AS k(organization_id, case_id)
            JOIN case_notes n ON n.organization_id = k.organization_id AND n.case_id = k.case_id
           ORDER BY n.created_at, n.id`)

    /**
     * The single lookup, for code paths that each want one user: requests are `{ organizationId, id }`
     * Data values, so a per-request cache (layers/RequestCache.ts) answers a repeated lookup without a
     * statement; lookups made together still share one statement.
     */
    const single = yield* SqlResolver.grouped("Loaders.user", {
      Request: Schema.Data(Schema.Struct({ organizationId: OrganizationId, id: UserId })),
      RequestGroupKey: (request) => request.organizationId,
      Result: UserRow,
      ResultGroupKey: (row) => row.organizationId,
      execute: (requests) => {
        const pairs = pairsOf(requests.map((request) => ({ organizationId: request.organizationId, ids: [request.id] })))
        return selectUsers(pairs.organizations, pairs.ids)
      }
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
