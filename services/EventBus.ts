import { Context, type Effect, type Stream } from "effect"
import type { BusEvent, BusMessage } from "../src/domain/Events.ts"

/** Fan-out of domain events to every instance (PostgreSQL LISTEN/NOTIFY in production). */
export class EventBus extends Context.Tag("casecore/EventBus")<
  EventBus,
  {
    /** Sends the event with the caller's transaction: delivered to every instance at commit, dropped on rollback. */
    readonly publish: (event: BusEvent) => Effect.Effect<void>
    /**
     * Hands an event that was just committed to this instance's subscribers at once, ahead of its NOTIFY
     * (which still arrives): what this instance revoked, it refuses from the next request on.
     */
    readonly deliverLocally: (event: BusEvent) => Effect.Effect<void>
    /**
     * This instance's incoming events. `Resync` comes first, after every reconnect of the listener, and
     * whenever the subscriber fell behind (its buffer is bounded): events may have been missed, re-read
     * state from the tables. The LISTEN connection opens with the first subscriber.
     */
    readonly subscribe: Stream.Stream<BusMessage>
    /** Whether the instance is listening now. */
    readonly connected: Effect.Effect<boolean>
  }
>() {}
