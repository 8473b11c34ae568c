import type { SqlError } from "@effect/sql/SqlError"
import { Context, type Effect, type Queue, type Scope } from "effect"
import type { BusEvent, BusMessage } from "../src/domain/Events.ts"

/** Fan-out of domain events to every instance (PostgreSQL LISTEN/NOTIFY in production). */
export class EventBus extends Context.Tag("casecore/EventBus")<
  EventBus,
  {
    /** Sends the event with the caller's transaction: delivered at commit, dropped on rollback. */
    readonly publish: (event: BusEvent) => Effect.Effect<void, SqlError>
    /** A queue of this instance's incoming events for the caller's scope; `Resync` after any gap. */
    readonly subscribe: Effect.Effect<Queue.Dequeue<BusMessage>, never, Scope.Scope>
    /** Whether the instance is currently listening. */
    readonly connected: Effect.Effect<boolean>
  }
>() {}
