import { Effect, Layer } from "effect"
import * as Policy from "../src/domain/Policy.ts"
import { Loaders } from "../services/Loaders.ts"
import { Rius } from "../services/Rius.ts"
import { makeReadRepository } from "./ReadRepository.ts"

export const RiusLive = Layer.effect(
  Rius,
  Effect.gen(function* () {
    const repository = yield* makeReadRepository
    const loaders = yield* Loaders
    return Rius.of({
      list: Effect.fn("Rius.list")(function* (user, request) {
        yield* Policy.readsCaseData(user)
        const page = yield* repository.rius(user.organizationId, request.status, request.limit ?? 20, request.cursor)
        const links = yield* loaders.caseLinksOfRius(user.organizationId, page.rows.map((row) => row.id))
        return {
          rius: page.rows.map((row) => ({
            id: row.id,
            reference: row.reference,
            kind: row.kind,
            status: row.status,
            createdAt: row.createdAt.toISOString(),
            caseIds: (links.get(row.id) ?? []).map((link) => link.caseId)
          })),
          nextCursor: page.nextCursor
        }
      })
    })
  })
)
