import { Layer } from "effect"
import { seedDemoIfEmpty } from "../src/seed/Demo.ts"

/** Demo data on an empty embedded database (or as SEED_DEMO says), before the server takes requests. */
export const SeedLive = Layer.effectDiscard(seedDemoIfEmpty)
