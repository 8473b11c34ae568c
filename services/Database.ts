import { Context, type Redacted } from "effect"

/** The connection string of the database this process uses (for clients outside the pool: LISTEN). */
export class DatabaseUrl extends Context.Tag("casecore/DatabaseUrl")<DatabaseUrl, Redacted.Redacted<string>>() {}
