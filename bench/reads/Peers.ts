import { SqlClient } from "@effect/sql"
import DataLoader from "dataloader"
import { Effect, Runtime, Schema } from "effect"
import { caseSummary, makeCaseTrees } from "../../layers/CaseTrees.ts"
import { investigationColumns, makeReadRepository } from "../../layers/ReadRepository.ts"
import type { CaseId, CategoryId, OrganizationId, UserId } from "../../src/domain/Ids.ts"
import { type CaseRow, CategoryRow, InvestigationRow, RiuLinkRow, UserRow } from "../../src/domain/Records.ts"
import { CaseView } from "../../src/domain/Reads.ts"
import { Loaders } from "../../services/Loaders.ts"

/**
 * Five ways to answer `Cases.List` with its tree (the tree the procedure serves, src/domain/Reads.ts CaseView:
 * each case with its creator, category, RIU links with the RIU, and investigations with their primary
 * investigators), for the `limit` newest cases of an organization. Every peer returns the same CaseView values
 * (checked before measuring), decodes every row it reads once with the same Schema (the row classes of
 * src/domain/Records.ts; json_agg: the CaseView tree), and runs its statements on the same pool.
 */
export type Peer = (organizationId: OrganizationId, limit: number) => Effect.Effect<ReadonlyArray<CaseView>, unknown, SqlClient.SqlClient | Loaders>

const none: ReadonlyArray<never> = []

/** The project's assembly (layers/CaseTrees.ts), from maps the peer filled. */
const assemble = (
  rows: ReadonlyArray<CaseRow>,
  categories: ReadonlyMap<CategoryId, CategoryRow>,
  links: ReadonlyMap<CaseId, ReadonlyArray<RiuLinkRow>>,
  investigations: ReadonlyMap<CaseId, ReadonlyArray<InvestigationRow>>,
  users: ReadonlyMap<UserId, UserRow>
): ReadonlyArray<CaseView> => rows.map((row) => caseSummary(row, { categories, links, investigations, users }))

const groupBy = <K extends string, A>(rows: ReadonlyArray<A>, key: (row: A) => K) => {
  const groups = new Map<K, Array<A>>()
  for (const row of rows) {
    const k = key(row)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [row])
    else group.push(row)
  }
  return groups
}

const byId = <A extends { readonly id: string }>(rows: ReadonlyArray<A>) => new Map<A["id"], A>(rows.map((row) => [row.id, row] as const))

const decodeUsers = Schema.decodeUnknown(Schema.Array(UserRow))
const decodeCategories = Schema.decodeUnknown(Schema.Array(CategoryRow))
const decodeLinks = Schema.decodeUnknown(Schema.Array(RiuLinkRow))
const decodeInvestigations = Schema.decodeUnknown(Schema.Array(InvestigationRow))
const decodeTree = Schema.decodeUnknown(Schema.Array(CaseView))

/** Hand-written statements over one organization; `= ANY($2)` (one bind parameter per list) or `= $2`. */
const statements = Effect.map(SqlClient.SqlClient, (sql) => {
  const users = (org: string, ids: ReadonlyArray<string>) =>
    sql`SELECT u.id, u.organization_id AS "organizationId", u.display_name AS "displayName", u.role
          FROM users u WHERE u.organization_id = ${org} AND u.id = ANY(${ids}::uuid[])`.pipe(Effect.flatMap(decodeUsers))
  const categories = (org: string, ids: ReadonlyArray<string>) =>
    sql`SELECT c.id, c.organization_id AS "organizationId", c.name
          FROM categories c WHERE c.organization_id = ${org} AND c.id = ANY(${ids}::uuid[])`.pipe(Effect.flatMap(decodeCategories))
  const links = (org: string, caseIds: ReadonlyArray<string>) =>
    sql`SELECT a.organization_id AS "organizationId", a.case_id AS "caseId", a.created_at AS "associatedAt",
               r.id AS "riuId", r.reference AS "riuReference", r.kind AS "riuKind", r.status AS "riuStatus"
          FROM riu_case_associations a JOIN rius r ON r.organization_id = a.organization_id AND r.id = a.riu_id
         WHERE a.organization_id = ${org} AND a.case_id = ANY(${caseIds}::uuid[])
         ORDER BY a.created_at, r.id`.pipe(Effect.flatMap(decodeLinks))
  const investigations = (org: string, caseIds: ReadonlyArray<string>) =>
    sql`SELECT ${investigationColumns(sql)} FROM investigations i
         WHERE i.organization_id = ${org} AND i.case_id = ANY(${caseIds}::uuid[])
         ORDER BY i.created_at, i.id`.pipe(Effect.flatMap(decodeInvestigations))
  const user = (org: string, id: string) =>
    sql`SELECT u.id, u.organization_id AS "organizationId", u.display_name AS "displayName", u.role
          FROM users u WHERE u.organization_id = ${org} AND u.id = ${id}`.pipe(Effect.flatMap(decodeUsers))
  const category = (org: string, id: string) =>
    sql`SELECT c.id, c.organization_id AS "organizationId", c.name
          FROM categories c WHERE c.organization_id = ${org} AND c.id = ${id}`.pipe(Effect.flatMap(decodeCategories))
  const linksOfCase = (org: string, caseId: string) =>
    sql`SELECT a.organization_id AS "organizationId", a.case_id AS "caseId", a.created_at AS "associatedAt",
               r.id AS "riuId", r.reference AS "riuReference", r.kind AS "riuKind", r.status AS "riuStatus"
          FROM riu_case_associations a JOIN rius r ON r.organization_id = a.organization_id AND r.id = a.riu_id
         WHERE a.organization_id = ${org} AND a.case_id = ${caseId}
         ORDER BY a.created_at, r.id`.pipe(Effect.flatMap(decodeLinks))
  const investigationsOfCase = (org: string, caseId: string) =>
    sql`SELECT ${investigationColumns(sql)} FROM investigations i
         WHERE i.organization_id = ${org} AND i.case_id = ${caseId}
         ORDER BY i.created_at, i.id`.pipe(Effect.flatMap(decodeInvestigations))
  return { users, categories, links, investigations, user, category, linksOfCase, investigationsOfCase }
})

const investigatorIds = (investigations: ReadonlyArray<InvestigationRow>) =>
  investigations.flatMap((i) => (i.primaryInvestigatorId === null ? [] : [i.primaryInvestigatorId]))

/** The page every peer but json_agg starts from: the project's keyset page statement (layers/ReadRepository.ts). */
const page = (organizationId: OrganizationId, limit: number) =>
  Effect.flatMap(makeReadRepository, (repository) => repository.cases(organizationId, {}, limit, undefined)).pipe(Effect.map((p) => p.rows))

/** The project: the page, then layers/CaseTrees.ts over the real Loaders (coarse SqlResolver.grouped requests). */
export const resolvers: Peer = (organizationId, limit) =>
  Effect.gen(function* () {
    const trees = makeCaseTrees(yield* Loaders)
    return yield* trees.summaries(organizationId, yield* page(organizationId, limit))
  })

/** Hand-written set-based queries, level by level: categories, links and investigations together, then the users. */
export const setBased: Peer = (organizationId, limit) =>
  Effect.gen(function* () {
    const q = yield* statements
    const rows = yield* page(organizationId, limit)
    if (rows.length === 0) return none
    const caseIds = rows.map((row) => row.id)
    const categoryIds = [...new Set(rows.flatMap((row) => (row.categoryId === null ? [] : [row.categoryId])))]
    const [categories, links, investigations] = yield* Effect.all([
      categoryIds.length === 0 ? Effect.succeed(none) : q.categories(organizationId, categoryIds),
      q.links(organizationId, caseIds),
      q.investigations(organizationId, caseIds)
    ], { concurrency: 3 })
    const users = yield* q.users(organizationId, [...new Set([...rows.map((row) => row.createdBy), ...investigatorIds(investigations)])])
    return assemble(rows, byId(categories), groupBy(links, (l) => l.caseId), groupBy(investigations, (i) => i.caseId), byId(users))
  })

/** Naive N+1: case after case, each relation by its own statement, each investigator too. */
export const naive: Peer = (organizationId, limit) =>
  Effect.gen(function* () {
    const q = yield* statements
    const rows = yield* page(organizationId, limit)
    return yield* Effect.forEach(rows, (row) =>
      Effect.gen(function* () {
        const category = row.categoryId === null ? undefined : (yield* q.category(organizationId, row.categoryId))[0]
        const users = byId(yield* q.user(organizationId, row.createdBy))
        const links = yield* q.linksOfCase(organizationId, row.id)
        const investigations = yield* q.investigationsOfCase(organizationId, row.id)
        for (const id of investigatorIds(investigations)) {
          for (const user of yield* q.user(organizationId, id)) users.set(user.id, user)
        }
        return assemble([row], category === undefined ? new Map() : byId([category]), new Map([[row.id, links]]), new Map([[row.id, investigations]]), users)[0]!
      }))
  })

/**
 * The `dataloader` package as it is used: one loader per relation per request (its cache lives as long as the
 * request), one `load` per row, each case's relations awaited per case, batch functions running the same `= ANY`
 * statements on the same pool. Creators are batched in the first tick, primary investigators in a later one.
 */
export const dataloader: Peer = (organizationId, limit) =>
  Effect.gen(function* () {
    const q = yield* statements
    const run = Runtime.runPromise(yield* Effect.runtime<never>())
    const rows = yield* page(organizationId, limit)
    const missing = (what: string, id: string) => new Error(`${what} ${id} is missing`)
    const users = new DataLoader<UserId, UserRow>(async (ids) => {
      const found = byId(await run(q.users(organizationId, ids)))
      return ids.map((id) => found.get(id) ?? missing("user", id))
    })
    const categories = new DataLoader<CategoryId, CategoryRow>(async (ids) => {
      const found = byId(await run(q.categories(organizationId, ids)))
      return ids.map((id) => found.get(id) ?? missing("category", id))
    })
    const links = new DataLoader<CaseId, ReadonlyArray<RiuLinkRow>>(async (ids) => {
      const found = groupBy(await run(q.links(organizationId, ids)), (l) => l.caseId)
      return ids.map((id) => found.get(id) ?? none)
    })
    const investigations = new DataLoader<CaseId, ReadonlyArray<InvestigationRow>>(async (ids) => {
      const found = groupBy(await run(q.investigations(organizationId, ids)), (i) => i.caseId)
      return ids.map((id) => found.get(id) ?? none)
    })
    return yield* Effect.promise(() =>
      Promise.all(rows.map(async (row): Promise<CaseView> => {
        const [category, creator, riuLinks, caseInvestigations] = await Promise.all([
          row.categoryId === null ? null : categories.load(row.categoryId),
          users.load(row.createdBy),
          links.load(row.id),
          investigations.load(row.id)
        ])
        const investigators = await Promise.all(investigatorIds(caseInvestigations).map((id) => users.load(id)))
        return assemble([row], byId(category === null ? [] : [category]), new Map([[row.id, riuLinks]]), new Map([[row.id, caseInvestigations]]), byId([creator, ...investigators]))[0]!
      })))
  })

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
const userJson = (alias: string) => `json_build_object('id', ${alias}.id, 'displayName', ${alias}.display_name, 'role', ${alias}.role)`

/** The reference: the page and its whole tree as ONE statement, json_agg all the way down, decoded as CaseView. */
const jsonAggStatement = `
  SELECT coalesce(json_agg(json_build_object(
           'id', c.id, 'reference', c.reference, 'title', c.title, 'status', c.status, 'priority', c.priority,
           'createdAt', ${iso("c.created_at")},
           'creator', (SELECT ${userJson("u")} FROM users u WHERE u.organization_id = c.organization_id AND u.id = c.created_by),
           'category', (SELECT json_build_object('id', k.id, 'name', k.name) FROM categories k
                         WHERE k.organization_id = c.organization_id AND k.id = c.category_id),
           'rius', coalesce((
             SELECT json_agg(json_build_object('id', r.id, 'reference', r.reference, 'kind', r.kind, 'status', r.status,
                                               'associatedAt', ${iso("a.created_at")}) ORDER BY a.created_at, r.id)
               FROM riu_case_associations a JOIN rius r ON r.organization_id = a.organization_id AND r.id = a.riu_id
              WHERE a.organization_id = c.organization_id AND a.case_id = c.id), '[]'),
           'investigations', coalesce((
             SELECT json_agg(json_build_object('id', i.id, 'status', i.status, 'primaryInvestigator',
                      (SELECT ${userJson("p")} FROM users p WHERE p.organization_id = i.organization_id AND p.id = i.primary_investigator_id))
                      ORDER BY i.created_at, i.id)
               FROM investigations i WHERE i.organization_id = c.organization_id AND i.case_id = c.id), '[]')
         ) ORDER BY c.created_at DESC, c.id DESC), '[]') AS tree
    FROM (SELECT * FROM cases WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) c`

export const jsonAgg: Peer = (organizationId, limit) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql.unsafe<{ tree: unknown }>(jsonAggStatement, [organizationId, limit])
    return yield* decodeTree(row?.tree ?? [])
  })

export const peers = { naive, resolvers, dataloader, setBased, jsonAgg } as const
export type PeerName = keyof typeof peers

/** The ids the scattered lookups ask for: a page's creators and primary investigators, read once up front. */
export const scatteredIds = (organizationId: OrganizationId, limit: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ createdBy: UserId; investigators: ReadonlyArray<UserId> }>`
      SELECT c.created_by AS "createdBy",
             coalesce((SELECT array_agg(i.primary_investigator_id ORDER BY i.created_at, i.id) FROM investigations i
                        WHERE i.organization_id = c.organization_id AND i.case_id = c.id AND i.primary_investigator_id IS NOT NULL), '{}') AS investigators
        FROM cases c WHERE c.organization_id = ${organizationId} ORDER BY c.created_at DESC, c.id DESC LIMIT ${limit}`
    return { creators: rows.map((row) => row.createdBy), investigators: rows.flatMap((row) => row.investigators) }
  })

/**
 * One request's scattered single-user lookups through `Loaders.user`, as several code paths make them one after
 * another: the creator of each case (formatting), the primary investigator of each investigation (an access
 * check), the creator of each case again (another serializer), and the caller's own user from 10 helpers in turn.
 * Each path batches its own lookups; what repeats across paths is work a per-request cache removes.
 */
export const scattered = (organizationId: OrganizationId, ids: { readonly creators: ReadonlyArray<UserId>; readonly investigators: ReadonlyArray<UserId> }, caller: UserId) =>
  Effect.gen(function* () {
    const loaders = yield* Loaders
    const one = (id: UserId) => Effect.map(loaders.user(organizationId, id), (found) => (found._tag === "Some" ? 1 : 0))
    let found = 0
    for (const path of [ids.creators, ids.investigators, ids.creators]) {
      const hits = yield* Effect.forEach(path, one, { batching: true })
      found += hits.reduce((a: number, b: number) => a + b, 0)
    }
    for (let helper = 0; helper < 10; helper++) found += yield* one(caller)
    return found
  })

/** The reference statement, for the results file. */
export const jsonAggSql = jsonAggStatement
