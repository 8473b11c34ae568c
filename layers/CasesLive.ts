import { Effect, Layer } from "effect"
import { NotFoundError } from "../src/domain/Errors.ts"
import * as Policy from "../src/domain/Policy.ts"
import { Cases } from "../services/Cases.ts"
import { Loaders } from "../services/Loaders.ts"
import { makeCaseTrees } from "./CaseTrees.ts"
import { makeReadRepository } from "./ReadRepository.ts"

export const CasesLive = Layer.effect(
  Cases,
  Effect.gen(function* () {
    const repository = yield* makeReadRepository
    const trees = makeCaseTrees(yield* Loaders)
    return Cases.of({
      list: Effect.fn("Cases.list")(function* (user, request) {
        yield* Policy.readsCaseData(user)
        const filter = { status: request.status, priority: request.priority, categoryId: request.categoryId }
        const page = yield* repository.cases(user.organizationId, filter, request.limit ?? 20, request.cursor)
        return { cases: yield* trees.summaries(user.organizationId, page.rows), nextCursor: page.nextCursor }
      }),
      get: Effect.fn("Cases.get")(function* (user, id) {
        yield* Policy.readsCaseData(user)
        const found = yield* trees.detail(user.organizationId, id)
        return found ?? (yield* new NotFoundError({ message: "no such case" }))
      })
    })
  })
)
