import { Context, type Effect, type Redacted } from "effect"

/** Argon2id password hashing. */
export class Passwords extends Context.Tag("casecore/Passwords")<
  Passwords,
  {
    /** Hash a password for storage (PHC string). */
    readonly hash: (password: Redacted.Redacted<string>) => Effect.Effect<string>
    /** True when the password matches the stored hash; a malformed hash is false, never an error. */
    readonly verify: (hash: string, password: Redacted.Redacted<string>) => Effect.Effect<boolean>
    /** Spend the same time as a real verification, for unknown accounts (no user enumeration by timing). */
    readonly verifyDummy: (password: Redacted.Redacted<string>) => Effect.Effect<false>
  }
>() {}
