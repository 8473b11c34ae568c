import { Clock, Config, ConfigError, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT } from "jose"
import type { CryptoKey, JWK, JWTHeaderParameters } from "jose"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { AccessClaims } from "../src/domain/Auth.ts"
import { AuthError } from "../src/domain/Errors.ts"
import { Jwt } from "../services/Jwt.ts"

const maxTokenLength = 8 * 1024
const tokenShape = /^[\w-]+\.[\w-]+\.[\w-]+$/
const clockToleranceSeconds = 30
const requiredClaims = ["iss", "aud", "sub", "org", "sid", "role", "jti", "iat", "exp"]
// Synchronous (an Either): every verification runs it.
const decodeClaims = Schema.decodeUnknownEither(AccessClaims)

/** ES256 by default: every mainstream verifier accepts it (jsonwebtoken 9 rejects Ed25519 keys). */
export const JwtAlgorithm = Schema.Literal("ES256", "EdDSA")
export type JwtAlgorithm = typeof JwtAlgorithm.Type

/** What each algorithm's keys look like, as WebCrypto and JWK name them. */
interface KeyKind {
  readonly cryptoName: string
  readonly describe: string
  /** Only the public members of a JWK of this kind. */
  readonly publicJwk: (jwk: { readonly x?: string | undefined; readonly y?: string | undefined }) => JWK
}

const keyKinds: Readonly<Record<JwtAlgorithm, KeyKind>> = {
  ES256: { cryptoName: "ECDSA", describe: "an ECDSA P-256 key", publicJwk: (jwk) => ({ kty: "EC", crv: "P-256", x: jwk.x ?? "", y: jwk.y ?? "" }) },
  EdDSA: { cryptoName: "Ed25519", describe: "an Ed25519 key", publicJwk: (jwk) => ({ kty: "OKP", crv: "Ed25519", x: jwk.x ?? "" }) }
}

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

const algorithmOf = (jwk: { readonly kty?: string; readonly crv?: string }): JwtAlgorithm | undefined =>
  jwk.kty === "EC" && jwk.crv === "P-256" ? "ES256" : jwk.kty === "OKP" && jwk.crv === "Ed25519" ? "EdDSA" : undefined

const PreviousPublicKeys = Schema.parseJson(
  Schema.Array(
    Schema.Struct({
      kty: Schema.Literal("EC", "OKP"),
      crv: Schema.Literal("P-256", "Ed25519"),
      x: Schema.String,
      y: Schema.optional(Schema.String),
      kid: Schema.NonEmptyString,
      alg: Schema.optional(JwtAlgorithm),
      use: Schema.optional(Schema.Literal("sig"))
    })
  )
)

/** A JSON array of public JWKs (P-256 or Ed25519), each with its kid: entries of an earlier /.well-known/jwks.json. */
const previousKeysConfig = Config.string("JWT_PREVIOUS_PUBLIC_KEYS").pipe(
  Config.mapOrFail((text) =>
    Schema.decodeUnknownEither(PreviousPublicKeys, { onExcessProperty: "error" })(text).pipe(
      Either.mapLeft(() =>
        ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], "expected a JSON array of public P-256 or Ed25519 JWKs, each with its kid")
      )
    )
  ),
  Config.withDefault([])
)

const settingsConfig = Config.all({
  algorithm: Config.literal("ES256", "EdDSA")("JWT_ALGORITHM").pipe(Config.withDefault("ES256" as const)),
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
  devKeyFile: Config.string("JWT_DEV_KEY_FILE").pipe(Config.option)
})

type Settings = Config.Config.Success<typeof settingsConfig>

const importKey = async (algorithm: JwtAlgorithm, jwkOrPem: string | JWK, type: "private" | "public", extractable: boolean) => {
  const key = typeof jwkOrPem === "string"
    ? await importPKCS8(jwkOrPem, algorithm, { extractable })
    : await importJWK(jwkOrPem, algorithm, { extractable })
  const kind = keyKinds[algorithm]
  if (key instanceof Uint8Array || key.type !== type || key.algorithm.name !== kind.cryptoName) throw new Error(`not ${kind.describe}`)
  return key
}

interface SigningKey {
  readonly signingKey: CryptoKey
  readonly publicJwk: JWK
  readonly verifyKey: CryptoKey
}

/** A PKCS8 PEM (literal "\n" accepted, as env files often carry it) or a private JWK as JSON, of the configured algorithm. */
const loadPrivateKey = (algorithm: JwtAlgorithm, variable: string, text: string) =>
  Effect.tryPromise({
    try: async (): Promise<SigningKey> => {
      const trimmed = text.trim()
      const source = trimmed.startsWith("{") ? JSON.parse(trimmed) as JWK : trimmed.replaceAll("\\n", "\n")
      const publicJwk = keyKinds[algorithm].publicJwk(await exportJWK(await importKey(algorithm, source, "private", true)))
      // Sign with a non-extractable copy: the private key material cannot leave WebCrypto afterwards.
      const signingKey = await importKey(algorithm, source, "private", false)
      return { signingKey, publicJwk, verifyKey: await importKey(algorithm, publicJwk, "public", false) }
    },
    catch: () =>
      ConfigError.InvalidData([variable], `expected ${keyKinds[algorithm].describe} for JWT_ALGORITHM=${algorithm}: a PKCS8 PEM or a private JWK (JSON)`)
  })

const errorCode = (error: unknown) => (error instanceof Error && "code" in error ? error.code : undefined)

/** The development key pair: created once (mode 0600), then reused; `wx` lets a concurrent start win the race. */
const readOrCreateDevKey = (algorithm: JwtAlgorithm, file: string) =>
  Effect.tryPromise({
    try: async () => {
      try {
        return await Fs.readFile(file, "utf8")
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw error
      }
      const { privateKey } = await generateKeyPair(algorithm, { extractable: true })
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

/** JWT_PRIVATE_KEY; without it, outside production, a development key of the configured algorithm. */
const loadCurrentKey = (settings: Settings) => {
  const devKeyFile = Option.getOrElse(settings.devKeyFile, () => `.data/jwt-dev-key-${settings.algorithm.toLowerCase()}.json`)
  return Option.filter(settings.privateKey, (key) => Redacted.value(key).trim() !== "").pipe(
    Option.match({
      onSome: (key) => loadPrivateKey(settings.algorithm, "JWT_PRIVATE_KEY", Redacted.value(key)),
      onNone: () =>
        settings.nodeEnv === "production"
          ? Effect.fail(ConfigError.MissingData(["JWT_PRIVATE_KEY"], `JWT_PRIVATE_KEY is required in production (${keyKinds[settings.algorithm].describe}: a PKCS8 PEM or a private JWK)`))
          : readOrCreateDevKey(settings.algorithm, devKeyFile).pipe(
            Effect.flatMap((text) => loadPrivateKey(settings.algorithm, "JWT_DEV_KEY_FILE", text)),
            Effect.tap(() => Effect.logWarning(`JWT_PRIVATE_KEY is unset: signing access tokens with the development key ${devKeyFile}`))
          )
    })
  )
}

interface VerifyingKey {
  readonly algorithm: JwtAlgorithm
  readonly key: CryptoKey
}

const make = Effect.gen(function* () {
  const settings = yield* settingsConfig
  const current = yield* loadCurrentKey(settings)
  const kid = Option.isSome(settings.keyId) ? settings.keyId.value : yield* Effect.promise(() => calculateJwkThumbprint(current.publicJwk))

  const verifyKeys = new Map<string, VerifyingKey>([[kid, { algorithm: settings.algorithm, key: current.verifyKey }]])
  const published: Array<JWK> = [{ ...current.publicJwk, kid, alg: settings.algorithm, use: "sig" }]
  for (const previous of settings.previousKeys) {
    const algorithm = algorithmOf(previous)
    if (verifyKeys.has(previous.kid)) {
      return yield* Effect.fail(ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], `duplicate kid ${previous.kid}`))
    }
    if (algorithm === undefined || (previous.alg !== undefined && previous.alg !== algorithm)) {
      return yield* Effect.fail(ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], `kid ${previous.kid}: its alg does not match its key type`))
    }
    const publicJwk = keyKinds[algorithm].publicJwk(previous)
    const key = yield* Effect.tryPromise({
      try: () => importKey(algorithm, publicJwk, "public", false),
      catch: () => ConfigError.InvalidData(["JWT_PREVIOUS_PUBLIC_KEYS"], `kid ${previous.kid}: not a valid ${keyKinds[algorithm].describe}`)
    })
    verifyKeys.set(previous.kid, { algorithm, key })
    published.push({ ...publicJwk, kid: previous.kid, alg: algorithm, use: "sig" })
  }

  // A token is verified only with the key its kid names, under that key's algorithm.
  const algorithms = [...new Set([...verifyKeys.values()].map((entry) => entry.algorithm))]
  const resolveKey = (header: JWTHeaderParameters) => {
    const entry = header.kid === undefined ? undefined : verifyKeys.get(header.kid)
    if (entry === undefined) throw invalid("unknown key id")
    if (header.alg !== entry.algorithm) throw invalid("algorithm not allowed")
    return entry.key
  }
  const { issuer, audience } = settings
  const lifetimeSeconds = Math.floor(Duration.toSeconds(settings.ttl))
  const header = { alg: settings.algorithm, typ: "at+jwt", kid } as const

  return Jwt.of({
    algorithm: settings.algorithm,
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
      const claims = yield* Either.mapLeft(decodeClaims(payload), () => invalid("unexpected claims"))
      // Defence in depth, for a signing key that was misused: no token from the future, none longer-lived than we issue.
      if (claims.iat > now / 1000 + clockToleranceSeconds) return yield* invalid("issued in the future")
      if (claims.exp - claims.iat > lifetimeSeconds + clockToleranceSeconds) return yield* invalid("lifetime too long")
      return claims
    }),
    jwks: { keys: published },
    lifetimeSeconds
  })
})

export const JwtLive: Layer.Layer<Jwt, ConfigError.ConfigError> = Layer.effect(Jwt, make)
