import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { BusEvent } from "../../src/domain/Events.ts"
import type { OrganizationId } from "../../src/domain/Ids.ts"
import { EventBus } from "../../services/EventBus.ts"
import { Metrics } from "../../services/Metrics.ts"
import { makeSessionRepository, type RevocationTarget } from "../SessionRepository.ts"

export interface Revocation<E> {
  readonly target: RevocationTarget
  readonly organizationId: OrganizationId
  readonly reason: string
  readonly at: Date
  /** Announced to every instance with the commit. */
  readonly event: BusEvent
  /** More of the same transaction (the audit row, a status change); gets the number of sessions revoked. */
  readonly also: (revoked: number) => Effect.Effect<void, E>
}

/**
 * Every revocation takes this one path: sessions and their live refresh tokens, the caller's other
 * writes and the bus event commit together; then this instance drops what it cached at once, ahead of
 * its own NOTIFY.
 */
export const makeRevoker = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const bus = yield* EventBus
  const metrics = yield* Metrics
  const sessions = yield* makeSessionRepository
  return <E>(revocation: Revocation<E>) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const revoked = yield* sessions.revoke(revocation.target, revocation.organizationId, revocation.reason, revocation.at)
        yield* revocation.also(revoked)
        yield* bus.publish(revocation.event)
        return revoked
      })
    ).pipe(
      Effect.catchTag("SqlError", Effect.die),
      Effect.tap((revoked) => {
        metrics.revocations.inc({ reason: revocation.reason }, revoked)
        return bus.deliverLocally(revocation.event)
      }),
      Effect.asVoid
    )
})
