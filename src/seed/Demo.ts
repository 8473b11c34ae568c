import { Effect } from "effect"
export const seedDemo = Effect.succeed("seed: todo")
export const seedDemoIfEmpty = Effect.void
