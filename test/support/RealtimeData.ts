import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { OrganizationId, UserId } from "../../src/domain/Ids.ts"
import { Notifications } from "../../services/Notifications.ts"
import { send } from "./Http.ts"
import type { TestUser } from "./TestApp.ts"

/** `count` active users of the organization, inserted in one statement (Argon2 at ~60/s would take minutes); they cannot log in. */
export const bulkUsers = (organizationId: OrganizationId, count: number, role: TestUser["role"] = "VIEWER") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tag = Math.random().toString(36).slice(2, 8)
    const rows = yield* sql<{ readonly id: UserId }>`
      INSERT INTO users (organization_id, email, password_hash, display_name, role)
      SELECT ${organizationId}, 'bulk-' || ${tag} || '-' || n || '@bulk.example', 'not-a-hash', 'Bulk user ' || n, ${role}
        FROM generate_series(1, ${count}) AS n
      RETURNING id`
    return rows.map((row) => ({ id: row.id, organizationId, role }))
  }).pipe(Effect.orDie)

/** A case of the organization, inserted directly; its id. */
export const createCase = (organizationId: OrganizationId, createdBy: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly id: string }>`
      INSERT INTO cases (organization_id, reference, title, created_by)
      VALUES (${organizationId}, ${`C-${Math.random().toString(36).slice(2, 10)}`}, 'A case', ${createdBy})
      RETURNING id`).pipe(Effect.map(([row]) => row!.id), Effect.orDie)

/** An investigation of the case, inserted directly; its id. */
export const createInvestigation = (organizationId: OrganizationId, caseId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly id: string }>`INSERT INTO investigations (organization_id, case_id) VALUES (${organizationId}, ${caseId}) RETURNING id`).pipe(
    Effect.map(([row]) => row!.id),
    Effect.orDie
  )

/** Notifications through the service other modules use; the new ids. */
export const notify = (
  organizationId: OrganizationId,
  recipients: ReadonlyArray<UserId> | "organization",
  content: { readonly title: string; readonly body?: string; readonly type?: string }
) => Effect.flatMap(Notifications, (notifications) => notifications.notifyUsers(organizationId, recipients, { body: "", ...content }))

/** POST /notifications as an ADMIN (to one user, or to the whole organization without `userId`); the ids answered. */
export const postNotification = (adminToken: string, body: { readonly userId?: string; readonly title: string; readonly body: string; readonly type?: string }) =>
  Effect.flatMap(send("POST", "/notifications", { token: adminToken, json: body }), (reply) =>
    reply.status === 200
      ? Effect.succeed((JSON.parse(reply.text) as { readonly ids: ReadonlyArray<string> }).ids)
      : Effect.dieMessage(`POST /notifications answered ${reply.status} ${reply.text}`))

/** The next identity value of notifications: moved forward only, in the test file's own database. */
const restartIdsAt = (next: (max: number) => number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ readonly max: string | null }>`SELECT max(id)::text AS max FROM notifications`
    const value = next(Number(row?.max ?? 0) + 1)
    yield* sql.unsafe(`ALTER TABLE notifications ALTER COLUMN id RESTART WITH ${value}`)
    return value
  }).pipe(Effect.orDie)

const powerOfTenAbove = (n: number, atLeast = 10) => {
  let power = atLeast
  while (power <= n) power *= 10
  return power
}

/**
 * The next notification ids cross from one length to the next (e.g. 9,990 ... 10,009), `before` of
 * them below the boundary: ids are decimal strings, and whatever orders or compares them as text goes
 * wrong exactly there. Returns the first id of the new length.
 */
export const idsCrossingDigits = (before: number) =>
  Effect.map(restartIdsAt((next) => powerOfTenAbove(next + before) - before), (value) => String(value + before))

/**
 * The next notification ids all have seven digits or more, and the same length (1,000,001 on): for
 * tests about something else than id order, which must not trip over ids of two lengths.
 */
export const idsOfOneLength = restartIdsAt((next) => powerOfTenAbove(next, 1_000_000) + 1)
