import { SqlClient } from "@effect/sql"
import { Deferred, Duration, Effect, Exit, Layer, PubSub, Redacted, Ref, Schedule, Schema } from "effect"
import pg from "pg"
import { BusEventJson, type BusMessage, channel } from "../src/domain/Events.ts"
import { EventBus } from "../services/EventBus.ts"
import { DatabaseUrl } from "./Database.ts"


const decode = Schema.decodeUnknownOption(BusEventJson)

/**
 * The listener owns its own pg.Client (PgClient.listen goes silent forever after a server restart):
 * the connection fails on `error`/`end`, is retried with backoff, and every (re)connect publishes
 * `Resync` because NOTIFYs sent while disconnected are gone.
 */
export const EventBusLive = Layer.scoped(
  EventBus,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const url = yield* DatabaseUrl
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<BusMessage>(), PubSub.shutdown)
    const connected = yield* Ref.make(false)
    const firstConnect = yield* Deferred.make<void>()

    const session = Effect.gen(function* () {
      const client = new pg.Client({ connectionString: Redacted.value(url), application_name: "casecore-listener" })
      const lost = yield* Deferred.make<never, Error>()
      client.on("notification", (message) => {
        const event = decode(message.payload ?? "")
        if (event._tag === "Some") hub.unsafeOffer({ _tag: "Event", event: event.value })
      })
      client.on("error", (error) => Deferred.unsafeDone(lost, Exit.fail(error)))
      client.on("end", () => Deferred.unsafeDone(lost, Exit.fail(new Error("listener connection ended"))))
      yield* Effect.acquireRelease(
        Effect.tryPromise(() => client.connect()),
        () => Effect.promise(() => client.end().catch(() => undefined)).pipe(Effect.andThen(Ref.set(connected, false)))
      )
      yield* Effect.tryPromise(() => client.query(`LISTEN ${channel}`))
      yield* Ref.set(connected, true)
      yield* Deferred.succeed(firstConnect, undefined)
      yield* PubSub.publish(hub, { _tag: "Resync" })
      yield* Effect.logDebug("listener connected")
      return yield* Deferred.await(lost)
    }).pipe(Effect.scoped)

    yield* session.pipe(
      Effect.tapError((error) => Effect.logWarning(`listener disconnected: ${error.message}`)),
      Effect.retry(Schedule.exponential(Duration.millis(100)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(5))))),
      Effect.forkScoped
    )
    // Serve only once listening (or after a bounded wait; /readyz reports the truth meanwhile).
    yield* Deferred.await(firstConnect).pipe(Effect.timeout(Duration.seconds(10)), Effect.ignore)

    return EventBus.of({
      publish: (event) => sql`SELECT pg_notify(${channel}, ${Schema.encodeSync(BusEventJson)(event)})`.pipe(Effect.asVoid),
      subscribe: PubSub.subscribe(hub),
      connected: Ref.get(connected)
    })
  })
)
