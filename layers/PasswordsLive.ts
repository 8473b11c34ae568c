import * as Argon2 from "argon2"
import { Config, Effect, Layer, Redacted } from "effect"
import { Passwords } from "../services/Passwords.ts"

/** OWASP minimum for Argon2id: m=19 MiB, t=2, p=1. Config may raise, never lower below it. */
const paramsConfig = Config.all({
  memoryCost: Config.integer("ARGON2_MEMORY_KIB").pipe(
    Config.withDefault(19_456),
    Config.validate({ message: "expected at least 19456 (KiB)", validation: (n) => n >= 19_456 })
  ),
  timeCost: Config.integer("ARGON2_TIME_COST").pipe(
    Config.withDefault(2),
    Config.validate({ message: "expected at least 2", validation: (n) => n >= 2 })
  )
})

export const PasswordsLive = Layer.effect(
  Passwords,
  Effect.gen(function* () {
    const params = yield* paramsConfig
    const options = { type: Argon2.argon2id, parallelism: 1, ...params } as const
    const dummyHash = yield* Effect.promise(() => Argon2.hash("dummy password for timing", options))
    const verify = (hash: string, password: Redacted.Redacted<string>) =>
      Effect.tryPromise(() => Argon2.verify(hash, Redacted.value(password))).pipe(Effect.orElseSucceed(() => false))
    return Passwords.of({
      hash: Effect.fn("Passwords.hash")(function* (password) {
        return yield* Effect.promise(() => Argon2.hash(Redacted.value(password), options))
      }),
      verify: Effect.fn("Passwords.verify")(function* (hash, password) {
        return yield* verify(hash, password)
      }),
      verifyDummy: Effect.fn("Passwords.verifyDummy")(function* (password) {
        yield* verify(dummyHash, password)
        return false as const
      })
    })
  })
)
