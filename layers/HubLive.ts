import { SqlClient } from "@effect/sql"
import { Chunk, Clock, Deferred, Duration, Effect, Layer, Queue, Schedule, Stream } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { BusEvent, BusMessage } from "../src/domain/Events.ts"
import type { Notification } from "../src/domain/Notification.ts"
import { entityRoom, type Peer } from "../src/domain/Realtime.ts"
import { frame } from "../src/socket/Frames.ts"
import { EventBus } from "../services/EventBus.ts"
import { Hub } from "../services/Hub.ts"
import { Metrics } from "../services/Metrics.ts"
import { makeNotificationRepository, type NotificationRow, toNotification } from "./NotificationRepository.ts"
import { makeSessionRepository } from "./SessionRepository.ts"
import { checkSessionState } from "./SessionState.ts"

/** Users in a batch of new notifications above which the rows and the unread counts are two queries side by side. */
const largeBatch = 50

/** At most this many missed notifications are replayed per peer after a gap (PROTOCOL's resume limit). */
const replayLimit = 100

type Created = Extract<BusEvent, { readonly _tag: "notifications.created" }>

export const HubLive = Layer.scoped(
  Hub,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const metrics = yield* Metrics
    const notifications = yield* makeNotificationRepository
    const sessions = yield* makeSessionRepository
    const peers = new Set<Peer>()
    const rooms = new Map<string, Set<Peer>>()
    const listeners = new Map<string, Set<(notification: Notification) => void>>()
    const nobody: ReadonlySet<Peer> = new Set()

    const join = (peer: Peer, room: string) => {
      peer.rooms.add(room)
      let members = rooms.get(room)
      if (members === undefined) rooms.set(room, (members = new Set()))
      members.add(peer)
    }
    const leave = (peer: Peer, room: string) => {
      peer.rooms.delete(room)
      const members = rooms.get(room)
      if (members === undefined) return
      members.delete(peer)
      if (members.size === 0) rooms.delete(room)
    }
    const inRoom = (room: string): ReadonlySet<Peer> => rooms.get(room) ?? nobody
    const userRoom = (userId: string) => `user:${userId}`

    /** A frame for the peer: held while its handshake replays, else written. `id`: a notification's, for de-duplication. */
    const write = (peer: Peer, bytes: Uint8Array, id?: bigint) => {
      if (id !== undefined && id <= peer.lastNotificationId) return
      if (peer.held !== undefined) {
        peer.held.push({ id: id ?? 0n, frame: bytes })
        return
      }
      if (id !== undefined) peer.lastNotificationId = id
      peer.send(bytes)
      written++
    }
    // Frames written since the counter was last brought up to date: one prom-client call per batch, not per frame.
    let written = 0
    const countWritten = () => {
      if (written === 0) return
      metrics.wsDeliveries.inc(written)
      written = 0
    }

    const sendCounts = (counts: ReadonlyMap<string, number>, userIds: Iterable<string>) => {
      for (const userId of userIds) {
        const bytes = frame("notification:unread_count", { unreadCount: counts.get(userId) ?? 0 })
        for (const peer of inRoom(userRoom(userId))) write(peer, bytes)
      }
    }

    /** Rows of notifications for their users' peers (and RPC streams), oldest first. */
    const deliverRows = (rows: ReadonlyArray<NotificationRow>) => {
      for (const row of rows) {
        const notification = toNotification(row)
        const bytes = frame("notification:new", { notification })
        const id = BigInt(row.id)
        for (const peer of inRoom(userRoom(row.userId))) write(peer, bytes, id)
        const own = listeners.get(row.userId)
        if (own !== undefined) for (const listener of own) listener(notification)
      }
    }

    const local = (userId: string) => rooms.has(userRoom(userId)) || listeners.has(userId)

    /**
     * Created events of one batch. A small batch (targeted notifications): one statement for the rows and
     * their users' unread counts. A large one (an org-wide write): the rows and the counts side by side, the
     * rows written as soon as they are in, so the counting does not hold up the first frames.
     */
    const created = (events: ReadonlyArray<Created>) =>
      Effect.gen(function* () {
        const pairs = events.flatMap((event) => event.items).filter(([userId]) => local(userId))
        if (pairs.length === 0) return
        const userIds = [...new Set(pairs.map(([userId]) => userId))]
        const ids = pairs.map(([, id]) => id)
        const counts = userIds.length <= largeBatch
          ? yield* Effect.map(notifications.forUsersWithUnread(ids, userIds), (rows) => {
            deliverRows(rows)
            return new Map(rows.map((row) => [row.userId, row.unread]))
          })
          : (yield* Effect.all([
            Effect.map(notifications.forUsers(ids, userIds), deliverRows),
            notifications.unreadCounts(userIds.filter((userId) => rooms.has(userRoom(userId))))
          ], { concurrency: 2 }))[1]
        sendCounts(counts, userIds)
        const committed = events[0]?.at
        if (committed !== undefined) metrics.wsDeliveryLag.observe({}, Math.max(0, Date.now() - Date.parse(committed)) / 1000)
      })

    const read = (event: Extract<BusEvent, { readonly _tag: "notifications.read" }>) =>
      Effect.gen(function* () {
        const members = inRoom(userRoom(event.userId))
        if (members.size === 0) return
        const bytes = frame("notification:read", event.ids === null ? { all: true } : { ids: event.ids })
        for (const peer of members) write(peer, bytes)
        sendCounts(yield* notifications.unreadCounts([event.userId]), [event.userId])
      })

    /** Peers whose session the event ended, closed with the matching code. */
    const closeWhere = (matches: (peer: Peer) => boolean, code: "SESSION_REVOKED" | "USER_INACTIVE") => {
      for (const peer of [...peers]) if (matches(peer)) peer.close(code)
    }

    const event = (busEvent: BusEvent): Effect.Effect<void> => {
      switch (busEvent._tag) {
        case "session.revoked":
          return Effect.sync(() =>
            closeWhere((peer) =>
              peer.user.userId === busEvent.userId && (busEvent.sessionId === null || peer.user.sessionId === busEvent.sessionId), "SESSION_REVOKED"))
        case "user.deactivated":
          return Effect.sync(() => closeWhere((peer) => peer.user.userId === busEvent.userId, "USER_INACTIVE"))
        case "user.role_changed":
          return Effect.sync(() => closeWhere((peer) => peer.user.userId === busEvent.userId, "SESSION_REVOKED"))
        case "organization.suspended":
          return Effect.sync(() => closeWhere((peer) => peer.user.organizationId === busEvent.organizationId, "USER_INACTIVE"))
        case "notifications.read":
          return read(busEvent)
        case "activity": {
          const { _tag, organizationId, ...data } = busEvent
          return Effect.sync(() => {
            const bytes = frame("activity", data)
            for (const peer of inRoom(busEvent.room)) if (peer.user.organizationId === organizationId) write(peer, bytes)
          })
        }
        case "notifications.created":
          return created([busEvent])
      }
    }

    /**
     * After a gap (NOTIFYs sent while the listener was down are gone): every peer's session is checked
     * again (one query), every user gets the notifications above the last one delivered to their peers
     * (one query) and a fresh unread count (one query).
     */
    const resync = Effect.gen(function* () {
      if (peers.size === 0) return
      const at = new Date(yield* Clock.currentTimeMillis)
      const states = new Map((yield* sessions.states([...new Set([...peers].map((peer) => peer.user.sessionId))])).map((row) => [row.sessionId, row]))
      for (const peer of [...peers]) {
        const state = states.get(peer.user.sessionId)
        if (state === undefined) {
          peer.close("SESSION_REVOKED")
          continue
        }
        const refused = yield* Effect.flip(checkSessionState(state, at, { idle: false })).pipe(Effect.option)
        if (refused._tag === "Some") peer.close(refused.value.code === "USER_INACTIVE" ? "USER_INACTIVE" : "SESSION_REVOKED")
      }
      const after = new Map<string, string>()
      for (const peer of peers) {
        const known = after.get(peer.user.userId)
        if (known === undefined || BigInt(known) > peer.lastNotificationId) after.set(peer.user.userId, peer.lastNotificationId.toString())
      }
      deliverRows(yield* notifications.afterForUsers(after, replayLimit))
      sendCounts(yield* notifications.unreadCounts([...after.keys()]), after.keys())
    })

    /** A batch of bus messages in order; consecutive created events share their queries. */
    const batch = (messages: ReadonlyArray<BusMessage>) =>
      Effect.gen(function* () {
        let run: Array<Created> = []
        const flush = Effect.suspend(() => {
          const events = run
          run = []
          return events.length === 0 ? Effect.void : created(events)
        })
        for (const message of messages) {
          if (message._tag === "Event" && message.event._tag === "notifications.created") {
            run.push(message.event)
            continue
          }
          yield* flush
          yield* message._tag === "Resync" ? resync : event(message.event)
        }
        yield* flush
      }).pipe(
        // What the batch would have delivered is in the tables: a re-sync delivers it, retried until the
        // database answers (events queue meanwhile; a subscriber that overflows hears Resync anyway).
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logWarning("hub: a batch of events failed; re-syncing every peer from the tables", cause),
            // Sandboxed: the repositories turn SQL errors into defects, which a plain retry would not retry
            // (the defect then ended the hub's subscription for good).
            resync.pipe(
              Effect.sandbox,
              Effect.retry(Schedule.exponential(Duration.millis(100)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(5))))),
              Effect.unsandbox
            )
          )),
        Effect.ensuring(Effect.sync(countWritten))
      )

    // Serve once subscribed (the stream's first message is its Resync).
    const subscribed = yield* Deferred.make<void>()
    yield* bus.subscribe.pipe(
      Stream.runForEachChunk((chunk) => Effect.zipRight(batch(Chunk.toReadonlyArray(chunk)), Deferred.succeed(subscribed, undefined))),
      Effect.forkScoped
    )
    yield* Deferred.await(subscribed)

    return Hub.of({
      register: (peer) =>
        Effect.sync(() => {
          peers.add(peer)
          join(peer, userRoom(peer.user.userId))
          join(peer, `org:${peer.user.organizationId}`)
        }),
      unregister: (peer) =>
        Effect.sync(() => {
          peers.delete(peer)
          for (const room of [...peer.rooms]) leave(peer, room)
        }),
      release: (peer) =>
        Effect.sync(() => {
          const held = peer.held ?? []
          peer.held = undefined
          for (const { frame: bytes, id } of held) write(peer, bytes, id === 0n ? undefined : id)
          countWritten()
        }),
      join: (peer, room) => Effect.sync(() => join(peer, room)),
      leave: (peer, room) => Effect.sync(() => leave(peer, room)),
      publishActivity: (activity) => bus.publish({ _tag: "activity", ...activity }),
      roomExists: (organizationId, room) =>
        Effect.gen(function* () {
          const match = entityRoom.exec(room)
          if (match === null) return false
          const table = match[1]!.toLowerCase() === "case" ? sql`cases` : sql`investigations`
          const rows = yield* sql`SELECT 1 FROM ${table} WHERE id = ${match[2]!.toLowerCase()} AND organization_id = ${organizationId}`
          return rows.length > 0
        }).pipe(Effect.orDie),
      notificationsFor: (user: AuthenticatedUser) =>
        Stream.unwrapScoped(
          Effect.gen(function* () {
            const queue = yield* Queue.sliding<Notification>(256)
            const listener = (notification: Notification) => void Queue.unsafeOffer(queue, notification)
            yield* Effect.acquireRelease(
              Effect.sync(() => {
                let set = listeners.get(user.userId)
                if (set === undefined) listeners.set(user.userId, (set = new Set()))
                set.add(listener)
              }),
              () =>
                Effect.sync(() => {
                  const set = listeners.get(user.userId)
                  set?.delete(listener)
                  if (set?.size === 0) listeners.delete(user.userId)
                })
            )
            return Stream.fromQueue(queue)
          })
        ),
      peers: Effect.sync(() => peers)
    })
  })
)
