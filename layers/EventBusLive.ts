import { SqlClient } from "@effect/sql"
import { Chunk, Config, Deferred, Duration, Effect, Exit, FiberId, Layer, Option, Queue, RcRef, Redacted, Schedule, Schema, Stream } from "effect"
import pg from "pg"
import { BusEventJson, type BusMessage, channel } from "../src/domain/Events.ts"
import { DatabaseUrl } from "../services/Database.ts"
import { EventBus } from "../services/EventBus.ts"
import { Metrics } from "../services/Metrics.ts"

const decode = Schema.decodeUnknownOption(BusEventJson)
const encode = Schema.encodeSync(BusEventJson)
const resync: BusMessage = { _tag: "Resync" }

/**
 * A subscriber's bounded buffer; once it overflows, nothing more is queued until it has drained and
 * heard Resync. `queued`/`handled` count messages through the queue: a message is handled once its
 * subscriber asks for the next one, which is what deliverLocally waits for.
 */
interface Subscriber {
  readonly queue: Queue.Queue<BusMessage>
  lagging: boolean
  queued: number
  taken: number
  readonly waiters: Array<{ readonly until: number; readonly done: Deferred.Deferred<void> }>
}

const markHandled = (subscriber: Subscriber) => {
  const handled = subscriber.taken
  for (let i = subscriber.waiters.length - 1; i >= 0; i--) {
    const waiter = subscriber.waiters[i]!
    if (waiter.until <= handled) {
      subscriber.waiters.splice(i, 1)
      Deferred.unsafeDone(waiter.done, Exit.void)
    }
  }
}

/**
 * The listener owns its own pg.Client (PgClient.listen goes silent forever after a server restart):
 * the connection fails on `error`/`end`, is retried with backoff, and every (re)connect tells the
 * subscribers to re-sync, because NOTIFYs sent while disconnected are gone. It runs while anyone
 * subscribes: a CLI command that only publishes opens no LISTEN connection.
 */
export const EventBusLive = Layer.scoped(
  EventBus,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const url = yield* DatabaseUrl
    const metrics = yield* Metrics
    const capacity = yield* Config.integer("EVENTBUS_SUBSCRIBER_BUFFER").pipe(Config.withDefault(4096))
    const subscribers = new Set<Subscriber>()
    let connected = false

    /** Queues the message for every subscriber; returns, per subscriber that got it, its place in that queue. */
    const offer = (message: BusMessage) => {
      const places: Array<readonly [Subscriber, number]> = []
      for (const subscriber of subscribers) {
        if (subscriber.lagging) continue
        if (Queue.unsafeOffer(subscriber.queue, message)) places.push([subscriber, ++subscriber.queued])
        else {
          subscriber.lagging = true
          metrics.subscriberResyncs.inc({})
        }
      }
      return places
    }

    const session = (firstConnect: Deferred.Deferred<void>) =>
      Effect.gen(function* () {
        const client = new pg.Client({ connectionString: Redacted.value(url), application_name: "casecore-listener" })
        const lost = yield* Deferred.make<never, Error>()
        // Events heard before Resync is queued wait for it: a subscriber that got one of them first would
        // take it as the newest it has (the hub re-syncs above the last id delivered) and skip the gap.
        let early: Array<BusMessage> | undefined = []
        client.on("notification", (message) => {
          const event = decode(message.payload ?? "")
          if (Option.isSome(event)) {
            const busMessage: BusMessage = { _tag: "Event", event: event.value }
            return void (early === undefined ? offer(busMessage) : early.push(busMessage))
          }
          metrics.undecodablePayloads.inc({})
          Effect.runFork(Effect.logDebug("undecodable event payload ignored", { bytes: message.payload?.length ?? 0 }))
        })
        client.on("error", (error) => Deferred.unsafeDone(lost, Exit.fail(error)))
        client.on("end", () => Deferred.unsafeDone(lost, Exit.fail(new Error("listener connection ended"))))
        yield* Effect.acquireRelease(Effect.tryPromise(() => client.connect()), () =>
          Effect.promise(() => client.end().catch(() => undefined)).pipe(
            Effect.andThen(Effect.sync(() => {
              connected = false
              metrics.listenerConnected.set({}, 0)
            }))
          ))
        yield* Effect.tryPromise(() => client.query(`LISTEN ${channel}`))
        connected = true
        metrics.listenerConnected.set({}, 1)
        offer(resync)
        for (const message of early) offer(message)
        early = undefined
        if (!(yield* Deferred.succeed(firstConnect, undefined))) metrics.listenerReconnects.inc({})
        yield* Effect.logDebug("listener connected")
        return yield* Deferred.await(lost)
      }).pipe(Effect.scoped)

    const listener = yield* RcRef.make({
      acquire: Effect.gen(function* () {
        const firstConnect = yield* Deferred.make<void>()
        yield* session(firstConnect).pipe(
          Effect.tapError((error) => Effect.logWarning(`listener disconnected: ${error.message}`)),
          Effect.retry(Schedule.exponential(Duration.millis(100)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(5))))),
          Effect.forkScoped
        )
        // Subscribers start once listening (or after a bounded wait; /readyz reports the truth meanwhile).
        yield* Deferred.await(firstConnect).pipe(Effect.timeout(Duration.seconds(10)), Effect.ignore)
      })
    })

    const subscription = Effect.gen(function* () {
      yield* RcRef.get(listener)
      const subscriber: Subscriber = { queue: yield* Queue.dropping<BusMessage>(capacity), lagging: false, queued: 0, taken: 0, waiters: [] }
      yield* Effect.acquireRelease(
        Effect.sync(() => subscribers.add(subscriber)),
        () =>
          Effect.sync(() => {
            subscribers.delete(subscriber)
            for (const waiter of subscriber.waiters) Deferred.unsafeDone(waiter.done, Exit.void)
          }).pipe(Effect.zipRight(Queue.shutdown(subscriber.queue)))
      )
      // Asking for more means what came before is handled. Whatever is queued comes as one chunk (a
      // subscriber can batch its work without a timer). A subscriber that fell behind drains what it
      // has, then hears Resync and is fed again.
      const next = Effect.suspend(() => {
        markHandled(subscriber)
        if (subscriber.lagging && Option.getOrElse(subscriber.queue.unsafeSize(), () => 0) === 0) {
          subscriber.lagging = false
          return Effect.succeed(Chunk.of(resync))
        }
        return Effect.flatMap(Queue.take(subscriber.queue), (first) =>
          Effect.map(Queue.takeAll(subscriber.queue), (rest) => {
            subscriber.taken += 1 + Chunk.size(rest)
            return Chunk.prepend(rest, first)
          }))
      })
      return Stream.concat(Stream.make(resync), Stream.repeatEffectChunk(next))
    })

    return EventBus.of({
      publish: (event) => sql`SELECT pg_notify(${channel}, ${encode(event)})`.pipe(Effect.orDie, Effect.asVoid),
      deliverLocally: (event) =>
        Effect.suspend(() => {
          const waits = offer({ _tag: "Event", event }).map(([subscriber, until]) => {
            const done = Deferred.unsafeMake<void>(FiberId.none)
            subscriber.waiters.push({ until, done })
            return Deferred.await(done)
          })
          // Bounded: a stuck subscriber must not hold up the request that revoked something.
          return Effect.all(waits, { discard: true }).pipe(Effect.timeout(Duration.seconds(1)), Effect.ignore)
        }),
      subscribe: Stream.unwrapScoped(subscription),
      connected: Effect.sync(() => connected)
    })
  })
)
