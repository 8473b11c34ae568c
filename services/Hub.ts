import { Context, type Effect, type Stream } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { Activity } from "../src/domain/Events.ts"
import type { Notification } from "../src/domain/Notification.ts"
import type { Peer } from "../src/domain/Realtime.ts"

/**
 * The live side of notifications on this instance: connected peers and their rooms, fed by the event
 * bus. A notification is committed before any peer sees it; after a gap in the bus (a reconnect of the
 * listener) every peer is re-synced from the tables.
 */
export class Hub extends Context.Tag("casecore/Hub")<
  Hub,
  {
    /** A peer that passed its handshake: it joins `user:<id>` and `org:<id>`; live notifications are held for it until released. */
    readonly register: (peer: Peer) => Effect.Effect<void>
    /** The peer is gone: it leaves every room. */
    readonly unregister: (peer: Peer) => Effect.Effect<void>
    /** Sends what was held for the peer during its handshake (ids above the last it got), then delivers live. */
    readonly release: (peer: Peer) => Effect.Effect<void>
    readonly join: (peer: Peer, room: string) => Effect.Effect<void>
    readonly leave: (peer: Peer, room: string) => Effect.Effect<void>
    /** Whether `case:<id>` / `investigation:<id>` names an entity of the organization (another's is as unknown). */
    readonly roomExists: (organizationId: string, room: string) => Effect.Effect<boolean>
    /** For writers, inside their transaction: an `activity` event for the sockets in the room. */
    readonly publishActivity: (activity: Omit<Activity, "_tag">) => Effect.Effect<void>
    /** The caller's new notifications as they are delivered on this instance (RPC Notifications.Stream). */
    readonly notificationsFor: (user: AuthenticatedUser) => Stream.Stream<Notification>
    /** Connected peers on this instance (for the shutdown and the metrics). */
    readonly peers: Effect.Effect<ReadonlySet<Peer>>
  }
>() {}
