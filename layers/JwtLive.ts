import { Clock, Config, ConfigError, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT } from "jose"
import type { JWK, JWTHeaderParameters } from "jose"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { AccessClaims } from "../src/domain/Auth.ts"
import { AuthError } from "../src/domain/Errors.ts"
import { Jwt } from "../services/Jwt.ts"

const maxTokenLength = 8 * 1024
const tokenShape = /^[\w-]+\.[\w-]+\.[\w-]+$/
const clockToleranceSeconds = 30
const algorithms = ["EdDSA"]
const requiredClaims = ["iss", "aud", "sub", "org", "sid", "role", "jti", "iat", "exp"]
const decodeClaims = Schema.decodeUnknown(AccessClaims)

const invalid = (message: string) => new AuthError({ code: "INVALID_TOKEN", message })

/** Names the reason only: never the token nor claim values. */
const toAuthError = (error: unknown): AuthError => {
  if (error instanceof AuthError) return error
  if (error instanceof errors.JWTExpired) return new AuthError({ code: "TOKEN_EXPIRED", message: "access token expired" })
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("algorithm not allowed")
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("signature verification failed")
  if (error instanceof errors.JWTClaimValidationFailed) {
    return invalid(error.reason === "missing" ? `missing claim ${error.claim}` : `unexpected ${error.claim}`)
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return invalid("malformed token")
  return invalid("invalid token")
}

const PreviousPublicKeys = Schema.parseJson(
  Schema.Array(
    Schema.Struct({
      kty: Schema.Literal("OKP"),
      crv: Schema.Literal("Ed25519"),
      x: Schema.String,
      kid: Schema.NonEmptyString,
      alg: Schema.optional(Schema.Literal("EdDSA")),
      use: Schema.optional(Schema.Literal("sig"))
    })
  )
)

/** A JSON array of public Ed25519 JWKs, each with its kid (entries of an earlier /.well-known/jwks.json). */
const previousKeysConfig = Config.string("JWT_PREVIOUS_PUBLIC_KEYS").pipe(
  Config.mapOrFail((text) =>
    Schema.decodeUnknownEither(PreviousPublicKeys, { onExcessProperty: "error" })(text).pipe(
      Either.mapLeft(() =>
        ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], "expected a JSON array of public Ed25519 JWKs, each with its kid")
      )
    )
  ),
  Config.withDefault([])
)

const settingsConfig = Config.all({
  issuer: Config.string("JWT_ISSUER").pipe(Config.withDefault("casecore")),
  audience: Config.string("JWT_AUDIENCE").pipe(Config.withDefault("casecore-api")),
  ttl: Config.duration("JWT_ACCESS_TTL").pipe(
    Config.validate({ message: "expected at least 1 second", validation: (ttl) => Duration.toSeconds(ttl) >= 1 }),
    Config.withDefault(Duration.minutes(10))
  ),
  privateKey: Config.redacted("JWT_PRIVATE_KEY").pipe(Config.option),
  keyId: Config.string("JWT_KEY_ID").pipe(Config.option),
  previousKeys: previousKeysConfig,
  nodeEnv: Config.string("NODE_ENV").pipe(Config.withDefault("development")),
  devKeyFile: Config.string("JWT_DEV_KEY_FILE").pipe(Config.withDefault(".data/jwt-dev-key.json"))
})

const publicJwk = (x: string) => ({ kty: "OKP", crv: "Ed25519", x })

const importEd25519 = async (jwkOrPem: string | JWK, type: "private" | "public", extractable: boolean) => {
  const key = typeof jwkOrPem === "string"
    ? await importPKCS8(jwkOrPem, "EdDSA", { extractable })
    : await importJWK(jwkOrPem, "EdDSA", { extractable })
  if (key instanceof Uint8Array || key.type !== type || key.algorithm.name !== "Ed25519") throw new Error("not an Ed25519 key")
  return key
}

type VerifyKey = Awaited<ReturnType<typeof importEd25519>>

/** A PKCS8 PEM (literal "\n" accepted, as env files often carry it) or a private JWK as JSON. */
const loadPrivateKey = (variable: string, text: string) =>
  Effect.tryPromise({
    try: async () => {
      const trimmed = text.trim()
      const source = trimmed.startsWith("{") ? JSON.parse(trimmed) as JWK : trimmed.replaceAll("\\n", "\n")
      const { x } = await exportJWK(await importEd25519(source, "private", true))
      if (x === undefined) throw new Error("no public key")
      // Sign with a non-extractable copy: the private key material cannot leave WebCrypto afterwards.
      const signingKey = await importEd25519(source, "private", false)
      return { signingKey, publicJwk: publicJwk(x), verifyKey: await importEd25519(publicJwk(x), "public", false) }
    },
    catch: () => ConfigError.InvalidData([variable], "expected an Ed25519 private key: a PKCS8 PEM or a private JWK (JSON)")
  })

const errorCode = (error: unknown) => (error instanceof Error && "code" in error ? error.code : undefined)

/** The development key pair: created once (mode 0600), then reused; `wx` lets a concurrent start win the race. */
const readOrCreateDevKey = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      try {
        return await Fs.readFile(file, "utf8")
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw error
      }
      const { privateKey } = await generateKeyPair("EdDSA", { extractable: true })
      const text = JSON.stringify(await exportJWK(privateKey))
      await Fs.mkdir(Path.dirname(file), { recursive: true })
      try {
        await Fs.writeFile(file, text, { mode: 0o600, flag: "wx" })
        return text
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw error
        return await Fs.readFile(file, "utf8")
      }
    },
    catch: (error) =>
      ConfigError.InvalidData(
        ["JWT_DEV_KEY_FILE"],
        `cannot read or create the development key ${file}: ${error instanceof Error ? error.message : String(error)}`
      )
  })

const missingInProduction = ConfigError.MissingData(
  ["JWT_PRIVATE_KEY"],
  "JWT_PRIVATE_KEY is required in production (a PKCS8 PEM or a private Ed25519 JWK)"
)

/** JWT_PRIVATE_KEY; without it, outside production, a development key kept in JWT_DEV_KEY_FILE. */
const loadCurrentKey = (settings: Config.Config.Success<typeof settingsConfig>) =>
  Option.filter(settings.privateKey, (key) => Redacted.value(key).trim() !== "").pipe(
    Option.match({
      onSome: (key) => loadPrivateKey("JWT_PRIVATE_KEY", Redacted.value(key)),
      onNone: () =>
        settings.nodeEnv === "production"
          ? Effect.fail(missingInProduction)
          : readOrCreateDevKey(settings.devKeyFile).pipe(
            Effect.flatMap((text) => loadPrivateKey("JWT_DEV_KEY_FILE", text)),
            Effect.tap(() =>
              Effect.logWarning(`JWT_PRIVATE_KEY is unset: signing access tokens with the development key ${settings.devKeyFile}`)
            )
          )
    })
  )

const make = Effect.gen(function* () {
  const settings = yield* settingsConfig
  const current = yield* loadCurrentKey(settings)
  const kid = Option.isSome(settings.keyId) ? settings.keyId.value : yield* Effect.promise(() => calculateJwkThumbprint(current.publicJwk))

  const verifyKeys = new Map<string, VerifyKey>([[kid, current.verifyKey]])
  const published: Array<JWK> = [{ ...current.publicJwk, kid, alg: "EdDSA", use: "sig" }]
  for (const previous of settings.previousKeys) {
    if (verifyKeys.has(previous.kid)) {
      return yield* Effect.fail(ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], `duplicate kid ${previous.kid}`))
    }
    const key = yield* Effect.tryPromise({
      try: () => importEd25519(publicJwk(previous.x), "public", false),
      catch: () => ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], `kid ${previous.kid}: not a valid Ed25519 public key`)
    })
    verifyKeys.set(previous.kid, key)
    published.push({ ...publicJwk(previous.x), kid: previous.kid, alg: "EdDSA", use: "sig" })
  }

  const resolveKey = (header: JWTHeaderParameters) => {
    const key = header.kid === undefined ? undefined : verifyKeys.get(header.kid)
    if (key === undefined) throw invalid("unknown key id")
    return key
  }
  const { issuer, audience } = settings
  const lifetimeSeconds = Math.floor(Duration.toSeconds(settings.ttl))
  const header = { alg: "EdDSA", typ: "at+jwt", kid } as const

  return Jwt.of({
    sign: Effect.fn("Jwt.sign")(function* (subject) {
      const iat = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const claims = {
        iss: issuer,
        aud: audience,
        sub: subject.userId,
        org: subject.organizationId,
        sid: subject.sessionId,
        role: subject.role,
        jti: randomUUID(),
        iat,
        exp: iat + lifetimeSeconds
      }
      const token = yield* Effect.tryPromise(() => new SignJWT(claims).setProtectedHeader(header).sign(current.signingKey)).pipe(
        Effect.orDie
      )
      return { token, expiresAt: new Date(claims.exp * 1000), claims: claims satisfies AccessClaims }
    }),
    verify: Effect.fnUntraced(function* (token, options) {
      if (token.length > maxTokenLength) return yield* invalid("token too long")
      if (!tokenShape.test(token)) return yield* invalid("malformed token")
      const graceSeconds = options?.graceSeconds ?? 0
      const now = yield* Clock.currentTimeMillis
      const { payload } = yield* Effect.tryPromise({
        try: () =>
          jwtVerify(token, resolveKey, {
            algorithms,
            issuer,
            audience,
            typ: "at+jwt",
            requiredClaims,
            currentDate: new Date(now),
            // The grace is measured from exp itself; it never shrinks the ordinary tolerance.
            clockTolerance: graceSeconds > clockToleranceSeconds ? graceSeconds : clockToleranceSeconds
          }),
        catch: toAuthError
      })
      return yield* decodeClaims(payload).pipe(Effect.mapError(() => invalid("unexpected claims")))
    }),
    jwks: { keys: published },
    lifetimeSeconds
  })
})

export const JwtLive: Layer.Layer<Jwt, ConfigError.ConfigError> = Layer.effect(Jwt, make)
