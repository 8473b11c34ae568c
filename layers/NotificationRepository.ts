import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import type { Notification } from "../src/domain/Notification.ts"
import { channel } from "../src/domain/Events.ts"
import type { NotificationContent } from "../services/Notifications.ts"

/** (user, id) pairs per `notifications.created` event: a NOTIFY payload must stay under 8,000 bytes. */
const pairsPerEvent = 100

/** A notifications row; bigint ids come back from node-postgres as decimal strings. */
export const NotificationRow = Schema.Struct({
  id: Schema.String,
  userId: Schema.String,
  type: Schema.String,
  title: Schema.String,
  body: Schema.String,
  entityType: Schema.NullOr(Schema.String),
  entityId: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf,
  readAt: Schema.NullOr(Schema.DateFromSelf)
})
export type NotificationRow = typeof NotificationRow.Type

/** A row with its user's unread count (the hub's batch query). */
const NotificationRowWithUnread = Schema.Struct({ ...NotificationRow.fields, unread: Schema.Int })
type NotificationRowWithUnread = typeof NotificationRowWithUnread.Type

/** The row as clients see it (PROTOCOL: Notification). */
export const toNotification = (row: NotificationRow): Notification => ({
  id: row.id,
  type: row.type,
  title: row.title,
  body: row.body,
  ...(row.entityType === null ? {} : { entityType: row.entityType }),
  ...(row.entityId === null ? {} : { entityId: row.entityId }),
  createdAt: row.createdAt.toISOString(),
  readAt: row.readAt === null ? null : row.readAt.toISOString()
})

/**
 * The id goes out as text (a bigint does not fit a JSON number). Every ORDER BY names the table's column
 * (`notifications.id`): a bare `id` would sort by this text output column, so 999 after 1000.
 */
const columns = (sql: SqlClient.SqlClient) =>
  sql`id::text AS id, user_id AS "userId", type, title, body, entity_type AS "entityType", entity_id::text AS "entityId",
      created_at AS "createdAt", read_at AS "readAt"`

/** notifications; rows decoded with Schema, SqlError a defect. */
export const makeNotificationRepository = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const Rows = Schema.Array(NotificationRow)
  // Synchronous (an Either): a fan-out to 10,000 sockets decodes 10,000 rows at once.
  const decodeRows = Schema.decodeUnknownEither(Rows)
  const decodeRowsWithUnread = Schema.decodeUnknownEither(Schema.Array(NotificationRowWithUnread))
  const select = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>) => Effect.orDie(Effect.flatMap(query, (rows) => decodeRows(rows)))

  const unread = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: Schema.Struct({ userId: Schema.String, unread: Schema.Int }),
    execute: (userIds) => sql`
      SELECT user_id AS "userId", count(*)::int AS unread FROM notifications
       WHERE user_id = ANY(${userIds}::uuid[]) AND read_at IS NULL GROUP BY user_id`
  })

  return {
    /**
     * New notifications and their bus events, in one statement (atomic on its own, or part of the caller's
     * transaction): the events reach every instance at commit, or never. The recipients' user rows are
     * locked first, in id order: two writes to one user commit in the order they got their ids, so `id >`
     * catch-up skips nothing committed late; the same order everywhere keeps writes to overlapping users
     * deadlock-free. The events are `notifications.created` (BusEventJson) with at most `pairsPerEvent`
     * (user, id) pairs each, so every NOTIFY payload stays under 8,000 bytes; `at` is the database's clock
     * (delivery lag is measured from it). Returns the new ids in order.
     */
    insert: (organizationId: OrganizationId, recipients: ReadonlyArray<UserId> | "organization", content: NotificationContent, at: Date) =>
      sql<{ readonly id: string }>`
        WITH recipients AS (
          SELECT id FROM users
           WHERE organization_id = ${organizationId}
             ${recipients === "organization" ? sql`` : sql`AND id = ANY(${recipients}::uuid[])`}
           ORDER BY id
           FOR NO KEY UPDATE
        ), inserted AS (
          INSERT INTO notifications (organization_id, user_id, type, title, body, entity_type, entity_id, created_at)
          SELECT ${organizationId}, id, ${content.type ?? "GENERAL"}, ${content.title}, ${content.body},
                 ${content.entityType ?? null}, ${content.entityId ?? null}, ${at}
            FROM recipients ORDER BY id
          RETURNING user_id, id
        ), numbered AS (
          SELECT user_id, id, (row_number() OVER (ORDER BY id) - 1) / ${pairsPerEvent} AS chunk FROM inserted
        ), notified AS (
          SELECT pg_notify(${channel}, json_build_object(
                   '_tag', 'notifications.created',
                   'organizationId', ${organizationId}::text,
                   'items', json_agg(json_build_array(user_id::text, id::text) ORDER BY id),
                   'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text)
            FROM numbered GROUP BY chunk
        )
        SELECT numbered.id::text AS id FROM numbered CROSS JOIN (SELECT count(*) FROM notified) AS sent ORDER BY numbered.id`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows.map((row) => row.id))
      ),

    /** A page of a user's notifications, newest first; one more than asked tells whether a next page exists. */
    page: (userId: UserId, organizationId: OrganizationId, limit: number, before: string | undefined) =>
      select(sql`
        SELECT ${columns(sql)} FROM notifications
         WHERE user_id = ${userId} AND organization_id = ${organizationId}
           ${before === undefined ? sql`` : sql`AND id < ${before}::bigint`}
         ORDER BY notifications.id DESC LIMIT ${limit + 1}`),

    /** A user's notifications after an id, oldest first. */
    after: (userId: UserId, organizationId: OrganizationId, afterId: string, limit: number) =>
      select(sql`
        SELECT ${columns(sql)} FROM notifications
         WHERE user_id = ${userId} AND organization_id = ${organizationId} AND id > ${afterId}::bigint
         ORDER BY notifications.id ASC LIMIT ${limit}`),

    /** The rows of these ids that belong to these users (those connected here), oldest first. */
    forUsers: (ids: ReadonlyArray<string>, userIds: ReadonlyArray<string>) =>
      ids.length === 0 || userIds.length === 0
        ? Effect.succeed([] as ReadonlyArray<NotificationRow>)
        : select(sql`
            SELECT ${columns(sql)} FROM notifications
             WHERE id = ANY(${ids}::bigint[]) AND user_id = ANY(${userIds}::uuid[])
             ORDER BY notifications.id ASC`),

    /** `forUsers`, each row with its user's unread count: one statement and one snapshot instead of two queries. */
    forUsersWithUnread: (ids: ReadonlyArray<string>, userIds: ReadonlyArray<string>) =>
      ids.length === 0 || userIds.length === 0
        ? Effect.succeed([] as ReadonlyArray<NotificationRowWithUnread>)
        : Effect.orDie(Effect.flatMap(
          sql`
            SELECT ${columns(sql)}, unread.count AS unread FROM notifications
             CROSS JOIN LATERAL (
               SELECT count(*)::int AS count FROM notifications m WHERE m.user_id = notifications.user_id AND m.read_at IS NULL
             ) AS unread
             WHERE notifications.id = ANY(${ids}::bigint[]) AND notifications.user_id = ANY(${userIds}::uuid[])
             ORDER BY notifications.id ASC`,
          (rows) => decodeRowsWithUnread(rows)
        )),

    /** For each of these users, the notifications after the lowest id given, oldest first (re-sync after a gap). */
    afterForUsers: (afterByUser: ReadonlyMap<string, string>, limitPerUser: number) =>
      afterByUser.size === 0
        ? Effect.succeed([] as ReadonlyArray<NotificationRow>)
        : select(sql`
            SELECT ${columns(sql)} FROM (
              SELECT n.*, row_number() OVER (PARTITION BY n.user_id ORDER BY n.id) AS rank
                FROM notifications n
                JOIN unnest(${[...afterByUser.keys()]}::uuid[], ${[...afterByUser.values()]}::bigint[]) AS c(user_id, after_id)
                  ON n.user_id = c.user_id AND n.id > c.after_id
            ) ranked
             WHERE rank <= ${limitPerUser}
             ORDER BY ranked.id ASC`),

    /** Unread counts of these users (a user with none is absent). */
    unreadCounts: (userIds: ReadonlyArray<string>) =>
      userIds.length === 0
        ? Effect.succeed(new Map<string, number>())
        : Effect.map(Effect.orDie(unread(userIds)), (rows) => new Map(rows.map((row) => [row.userId, row.unread]))),

    /** A user's unread count and newest id, in one statement (two index lookups). */
    summary: (userId: UserId, organizationId: OrganizationId) =>
      sql<{ readonly unreadCount: number; readonly latestId: string | null }>`
        SELECT (SELECT count(*)::int FROM notifications WHERE user_id = ${userId} AND organization_id = ${organizationId} AND read_at IS NULL) AS "unreadCount",
               (SELECT max(id)::text FROM notifications WHERE user_id = ${userId} AND organization_id = ${organizationId}) AS "latestId"`.pipe(
        Effect.orDie,
        Effect.map(([row]) => row ?? { unreadCount: 0, latestId: null })
      ),

    /** Marks these (or all, `ids` undefined) of the user's unread notifications read; the ids it changed. */
    markRead: (userId: UserId, organizationId: OrganizationId, ids: ReadonlyArray<string> | undefined, at: Date) =>
      sql<{ readonly id: string }>`
        UPDATE notifications SET read_at = ${at}
         WHERE user_id = ${userId} AND organization_id = ${organizationId} AND read_at IS NULL
           ${ids === undefined ? sql`` : sql`AND id = ANY(${ids}::bigint[])`}
        RETURNING id::text AS id`.pipe(Effect.orDie, Effect.map((rows) => rows.map((row) => row.id)))
  }
})

export type NotificationRepository = Effect.Effect.Success<typeof makeNotificationRepository>
