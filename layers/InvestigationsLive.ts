import { Effect, Layer } from "effect"
import { NotFoundError } from "../src/domain/Errors.ts"
import * as Policy from "../src/domain/Policy.ts"
import { Investigations } from "../services/Investigations.ts"
import { Loaders } from "../services/Loaders.ts"
import { makeCaseTrees } from "./CaseTrees.ts"

export const InvestigationsLive = Layer.effect(
  Investigations,
  Effect.gen(function* () {
    const trees = makeCaseTrees(yield* Loaders)
    return Investigations.of({
      get: Effect.fn("Investigations.get")(function* (user, id) {
        yield* Policy.readsCaseData(user)
        const found = yield* trees.investigation(user.organizationId, id)
        return found ?? (yield* new NotFoundError({ message: "no such investigation" }))
      })
    })
  })
)
