import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Either, Schema } from "effect"
import { ValidationError } from "../src/domain/Errors.ts"
import type { CategoryId, OrganizationId } from "../src/domain/Ids.ts"
import { type CasePriority, CaseRow, type CaseStatus, RiuRow, type RiuStatus } from "../src/domain/Records.ts"

type Sql = SqlClient.SqlClient

/** The columns of a CaseRow (`c` is cases). */
export const caseColumns = (sql: Sql) =>
  sql`c.id, c.organization_id AS "organizationId", c.reference, c.title, c.status, c.priority, c.category_id AS "categoryId",
      c.created_by AS "createdBy", c.created_at AS "createdAt"`

/** The columns of an InvestigationRow (`i` is investigations). */
export const investigationColumns = (sql: Sql) =>
  sql`i.id, i.organization_id AS "organizationId", i.case_id AS "caseId", i.status, i.primary_investigator_id AS "primaryInvestigatorId",
      i.created_at AS "createdAt"`

/**
 * A keyset position: the last row's created_at, to the microsecond (a JS Date keeps milliseconds, and
 * rows a microsecond apart would be skipped or repeated), and its id, the tie-breaker.
 */
const Position = Schema.Struct({
  at: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)),
  id: Schema.UUID
})
type Position = typeof Position.Type

const cursorAt = (sql: Sql, table: string) =>
  sql`to_char(${sql(table)}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"`

const decodePosition = Schema.decodeUnknownEither(Schema.parseJson(Position))

/** The opaque cursor of a list (`kind` keeps one list's cursor out of another). */
const encodeCursor = (kind: string, position: Position) => `${kind}.${Buffer.from(JSON.stringify(position)).toString("base64url")}`

const decodeCursor = (kind: string, cursor: string | undefined): Effect.Effect<Position | undefined, ValidationError> => {
  if (cursor === undefined) return Effect.succeed(undefined)
  const prefix = `${kind}.`
  const decoded = cursor.startsWith(prefix) && /^[A-Za-z0-9_-]+$/.test(cursor.slice(prefix.length))
    ? decodePosition(Buffer.from(cursor.slice(prefix.length), "base64url").toString("utf8"))
    : Either.left(undefined)
  return Either.isRight(decoded)
    ? Effect.succeed(decoded.right)
    : Effect.fail(new ValidationError({ message: "cursor: not a cursor of this list" }))
}

export interface Page<A> {
  readonly rows: ReadonlyArray<A>
  readonly nextCursor: string | null
}

const CasePageRow = Schema.Struct({ ...CaseRow.fields, cursorAt: Schema.String })
const RiuPageRow = Schema.Struct({ ...RiuRow.fields, cursorAt: Schema.String })

const pageOf = <A extends { readonly id: string; readonly cursorAt: string }>(kind: string, rows: ReadonlyArray<A>, limit: number): Page<A> => {
  const shown = rows.slice(0, limit)
  const last = shown.at(-1)
  return { rows: shown, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(kind, { at: last.cursorAt, id: last.id }) : null }
}

export interface CaseFilter {
  readonly status?: CaseStatus | undefined
  readonly priority?: CasePriority | undefined
  readonly categoryId?: CategoryId | undefined
}

/**
 * The keyset pages of the read API. Each page is ONE statement, shaped for an index on
 * (organization_id[, status | priority | category_id], created_at DESC, id DESC) with no sort:
 *   WHERE organization_id = $1 [AND <filter> = $2] [AND (created_at, id) < ($c, $i)]
 *   ORDER BY created_at DESC, id DESC LIMIT n + 1
 * (one row past the page says whether there is a next one). The tree of each row is loaded by the
 * loaders (layers/LoadersLive.ts), a constant number of statements per page.
 */
export const makeReadRepository = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const after = (position: Position | undefined, table: string) =>
    position === undefined ? sql`` : sql`AND (${sql(table)}.created_at, ${sql(table)}.id) < (${position.at}::timestamptz, ${position.id}::uuid)`

  /** Cases of an organization, newest first, filtered by status, priority and category. */
  const casePage = SqlSchema.findAll({
    Request: Schema.Struct({
      organizationId: Schema.String,
      status: Schema.optional(Schema.String),
      priority: Schema.optional(Schema.String),
      categoryId: Schema.optional(Schema.String),
      position: Schema.optional(Position),
      limit: Schema.Int
    }),
    Result: CasePageRow,
    execute: (r) => sql`
      SELECT ${caseColumns(sql)}, ${cursorAt(sql, "c")}
        FROM cases c
       WHERE c.organization_id = ${r.organizationId}
         ${r.status === undefined ? sql`` : sql`AND c.status = ${r.status}`}
         ${r.priority === undefined ? sql`` : sql`AND c.priority = ${r.priority}`}
         ${r.categoryId === undefined ? sql`` : sql`AND c.category_id = ${r.categoryId}`}
         ${after(r.position, "c")}
       ORDER BY c.created_at DESC, c.id DESC
       LIMIT ${r.limit + 1}`
  })

  /** RIUs of an organization, newest first, filtered by status. */
  const riuPage = SqlSchema.findAll({
    Request: Schema.Struct({
      organizationId: Schema.String,
      status: Schema.optional(Schema.String),
      position: Schema.optional(Position),
      limit: Schema.Int
    }),
    Result: RiuPageRow,
    execute: (r) => sql`
      SELECT r.id, r.organization_id AS "organizationId", r.reference, r.kind, r.status, r.created_at AS "createdAt", ${cursorAt(sql, "r")}
        FROM rius r
       WHERE r.organization_id = ${r.organizationId}
         ${r.status === undefined ? sql`` : sql`AND r.status = ${r.status}`}
         ${after(r.position, "r")}
       ORDER BY r.created_at DESC, r.id DESC
       LIMIT ${r.limit + 1}`
  })

  return {
    /** A page of cases; a cursor that is not this list's is VALIDATION_ERROR. */
    cases: (organizationId: OrganizationId, filter: CaseFilter, limit: number, cursor: string | undefined) =>
      Effect.flatMap(decodeCursor("c", cursor), (position) =>
        casePage({ organizationId, ...filter, ...(position === undefined ? {} : { position }), limit }).pipe(
          Effect.orDie,
          Effect.map((rows) => pageOf("c", rows, limit))
        )),
    /** A page of RIUs; a cursor that is not this list's is VALIDATION_ERROR. */
    rius: (organizationId: OrganizationId, status: RiuStatus | undefined, limit: number, cursor: string | undefined) =>
      Effect.flatMap(decodeCursor("r", cursor), (position) =>
        riuPage({ organizationId, ...(status === undefined ? {} : { status }), ...(position === undefined ? {} : { position }), limit }).pipe(
          Effect.orDie,
          Effect.map((rows) => pageOf("r", rows, limit))
        ))
  }
})

export type ReadRepository = Effect.Effect.Success<typeof makeReadRepository>
