import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, TestClock } from "effect"
import type { ConfigError } from "effect"
import { base64url, calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT } from "jose"
import type { CryptoKey, JWTHeaderParameters, JWTPayload } from "jose"
import { randomUUID } from "node:crypto"
import { JwtLive } from "../../layers/JwtLive.ts"
import { OrganizationId, SessionId, UserId } from "../../src/domain/Ids.ts"
import type { AuthError } from "../../src/domain/Errors.ts"
import { Jwt } from "../../services/Jwt.ts"

const now = Date.parse("2026-11-26T12:00:00Z")
const nowSeconds = now / 1000
const kid = "current-key"

type Algorithm = "ES256" | "EdDSA"

/** Keys of one algorithm: the signing key, a previous one (still in JWKS) and a stranger's. */
const keysFor = async (algorithm: Algorithm) => {
  const current = await generateKeyPair(algorithm, { extractable: true })
  const previous = await generateKeyPair(algorithm, { extractable: true })
  const stranger = await generateKeyPair(algorithm, { extractable: true })
  const previousJwk = { ...(await exportJWK(previous.publicKey)), kid: `previous-${algorithm}` }
  const baseConfig: ReadonlyArray<readonly [string, string]> = [
    ["JWT_ALGORITHM", algorithm],
    ["JWT_PRIVATE_KEY", await exportPKCS8(current.privateKey)],
    ["JWT_KEY_ID", kid],
    ["JWT_PREVIOUS_PUBLIC_KEYS", JSON.stringify([previousJwk])]
  ]
  return { current, previous, stranger, previousJwk, baseConfig }
}

const keys = { ES256: await keysFor("ES256"), EdDSA: await keysFor("EdDSA") }
const other = (algorithm: Algorithm): Algorithm => (algorithm === "ES256" ? "EdDSA" : "ES256")

const jwtLayer = (entries: ReadonlyArray<readonly [string, string]>) =>
  Layer.provide(JwtLive, Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries))))

const buildLayer = (entries: ReadonlyArray<readonly [string, string]>) => Effect.scoped(Layer.build(jwtLayer(entries)))

const subject = {
  userId: UserId.make(randomUUID()),
  organizationId: OrganizationId.make(randomUUID()),
  sessionId: SessionId.make(randomUUID()),
  role: "INVESTIGATOR" as const
}

/** Every claim a valid token carries, issued now for ten minutes. */
const validClaims = (): JWTPayload => ({
  iss: "casecore",
  aud: "casecore-api",
  sub: subject.userId,
  org: subject.organizationId,
  sid: subject.sessionId,
  role: subject.role,
  jti: randomUUID(),
  iat: nowSeconds,
  exp: nowSeconds + 600
})

const handSigner = (algorithm: Algorithm) => (
  claims: JWTPayload,
  options: { readonly header?: Partial<JWTHeaderParameters>; readonly key?: CryptoKey | Uint8Array } = {}
) =>
  Effect.promise(() =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: algorithm, typ: "at+jwt", kid, ...options.header })
      .sign(options.key ?? keys[algorithm].current.privateKey)
  )

const without = (claim: string): JWTPayload => Object.fromEntries(Object.entries(validClaims()).filter(([name]) => name !== claim))

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value))
const decodeJson = (segment: string): JWTPayload => JSON.parse(new TextDecoder().decode(base64url.decode(segment)))

const verifyFailure = (token: string, options?: { readonly graceSeconds?: number }) =>
  Effect.gen(function* () {
    const jwt = yield* Jwt
    return yield* Effect.flip(jwt.verify(token, options))
  })

const assertInvalid = (error: AuthError, message?: string) => {
  assert.strictEqual(error.code, "INVALID_TOKEN")
  if (message !== undefined) assert.strictEqual(error.message, message)
}

const atNow = <A, E, R>(self: Effect.Effect<A, E, R>) => TestClock.setTime(now).pipe(Effect.zipRight(self))

for (const algorithm of ["ES256", "EdDSA"] as const) describe(`Jwt (${algorithm})`, () => {
  const { baseConfig, current, previous, previousJwk, stranger } = keys[algorithm]
  const handSigned = handSigner(algorithm)
  const jwtConfigured = (entries: ReadonlyArray<readonly [string, string]> = baseConfig) => jwtLayer(entries)

  it.effect("round-trips every claim through sign and verify", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const signed = yield* jwt.sign(subject)
      const claims = yield* jwt.verify(signed.token)
      assert.deepStrictEqual(claims, signed.claims)
      assert.strictEqual(claims.sub, subject.userId)
      assert.strictEqual(claims.org, subject.organizationId)
      assert.strictEqual(claims.sid, subject.sessionId)
      assert.strictEqual(claims.role, "INVESTIGATOR")
      assert.strictEqual(claims.iss, "casecore")
      assert.strictEqual(claims.aud, "casecore-api")
      assert.strictEqual(claims.iat, nowSeconds)
      assert.strictEqual(claims.exp, claims.iat + 600)
      assert.strictEqual(jwt.lifetimeSeconds, 600)
      assert.strictEqual(signed.expiresAt.getTime(), now + 600_000)
      const [header] = signed.token.split(".")
      assert.deepStrictEqual(decodeJson(header ?? ""), { alg: algorithm, typ: "at+jwt", kid })
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects an unsigned alg-none token", () =>
    atNow(Effect.gen(function* () {
      const token = `${encodeJson({ alg: "none", typ: "at+jwt" })}.${encodeJson(validClaims())}.`
      assertInvalid(yield* verifyFailure(token), "malformed token")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects alg none even with a signature segment", () =>
    atNow(Effect.gen(function* () {
      const genuine = yield* handSigned(validClaims())
      const [, payload, signature] = genuine.split(".")
      const token = `${encodeJson({ alg: "none", typ: "at+jwt" })}.${payload}.${signature}`
      assertInvalid(yield* verifyFailure(token), "algorithm not allowed")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects HS256 signed with the public key as the HMAC secret", () =>
    atNow(Effect.gen(function* () {
      const secret = new TextEncoder().encode(yield* Effect.promise(() => exportSPKI(current.publicKey)))
      const token = yield* handSigned(validClaims(), { header: { alg: "HS256" }, key: secret })
      assertInvalid(yield* verifyFailure(token), "algorithm not allowed")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect(`rejects ${other(algorithm)} signed with an ${other(algorithm)} key under the current kid`, () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned(validClaims(), { header: { alg: other(algorithm) }, key: keys[other(algorithm)].current.privateKey })
      assertInvalid(yield* verifyFailure(token), "algorithm not allowed")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect(`verifies a previous ${other(algorithm)} key under its own kid and algorithm only`, () =>
    atNow(Effect.gen(function* () {
      const foreign = keys[other(algorithm)]
      const jwt = yield* Effect.provide(Jwt, jwtConfigured([...baseConfig.slice(0, 3), ["JWT_PREVIOUS_PUBLIC_KEYS", JSON.stringify([foreign.previousJwk])]]))
      const good = yield* handSigner(other(algorithm))(validClaims(), { header: { kid: foreign.previousJwk.kid }, key: foreign.previous.privateKey })
      assert.strictEqual((yield* jwt.verify(good)).sub, subject.userId)
      const wrongAlg = yield* handSigned(validClaims(), { header: { kid: foreign.previousJwk.kid } })
      assertInvalid(yield* Effect.flip(jwt.verify(wrongAlg)), "algorithm not allowed")
    })))

  it.effect("rejects a token issued beyond the clock tolerance in the future", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned({ ...validClaims(), iat: nowSeconds + 31, exp: nowSeconds + 600 })
      assertInvalid(yield* verifyFailure(token), "issued in the future")
      const tenYears = 10 * 365 * 86_400
      const farFuture = yield* handSigned({ ...validClaims(), iat: nowSeconds + tenYears, exp: nowSeconds + tenYears + 600 })
      assertInvalid(yield* verifyFailure(farFuture))
      const inTolerance = yield* handSigned({ ...validClaims(), iat: nowSeconds + 29, exp: nowSeconds + 600 })
      assert.strictEqual((yield* Effect.flatMap(Jwt, (jwt) => jwt.verify(inTolerance))).sub, subject.userId)
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a token living longer than the configured lifetime plus tolerance", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned({ ...validClaims(), exp: nowSeconds + 10 * 365 * 86_400 })
      assertInvalid(yield* verifyFailure(token), "lifetime too long")
      const justLonger = yield* handSigned({ ...validClaims(), exp: nowSeconds + 600 + 31 })
      assertInvalid(yield* verifyFailure(justLonger), "lifetime too long")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect(`fails with a ConfigError when the private key is not ${algorithm === "ES256" ? "P-256" : "Ed25519"}`, () =>
    Effect.gen(function* () {
      const wrong = yield* Effect.promise(() => exportPKCS8(keys[other(algorithm)].current.privateKey))
      const error = yield* Effect.flip(buildLayer([["JWT_ALGORITHM", algorithm], ["JWT_PRIVATE_KEY", wrong]]))
      assert.include(String(error), "JWT_PRIVATE_KEY")
      assert.include(String(error), `JWT_ALGORITHM=${algorithm}`)
    }))

  it.effect("rejects a payload changed after signing", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const { token } = yield* jwt.sign(subject)
      const [header, payload, signature] = token.split(".")
      const tampered = { ...decodeJson(payload ?? ""), sub: randomUUID() }
      const error = yield* verifyFailure(`${header}.${encodeJson(tampered)}.${signature}`)
      assertInvalid(error, "signature verification failed")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a token from another issuer", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned({ ...validClaims(), iss: "someone-else" })
      assertInvalid(yield* verifyFailure(token), "unexpected iss")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a token for another audience", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned({ ...validClaims(), aud: "another-api" })
      assertInvalid(yield* verifyFailure(token), "unexpected aud")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a token whose typ is JWT instead of at+jwt", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned(validClaims(), { header: { typ: "JWT" } })
      assertInvalid(yield* verifyFailure(token), "unexpected typ")
    }).pipe(Effect.provide(jwtConfigured()))))

  for (const claim of ["exp", "sub", "sid", "org", "jti"]) {
    it.effect(`rejects a token without ${claim}`, () =>
      atNow(Effect.gen(function* () {
        const token = yield* handSigned(without(claim))
        assertInvalid(yield* verifyFailure(token), `missing claim ${claim}`)
      }).pipe(Effect.provide(jwtConfigured()))))
  }

  it.effect("rejects a token whose claims have the wrong shape", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned({ ...validClaims(), role: "SUPERUSER" })
      assertInvalid(yield* verifyFailure(token), "unexpected claims")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a garbage string", () =>
    atNow(Effect.gen(function* () {
      assertInvalid(yield* verifyFailure("not a token at all"), "malformed token")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a 64 KB token before parsing it", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned({ ...validClaims(), padding: "x".repeat(64 * 1024) })
      assert.isAbove(token.length, 64 * 1024)
      assertInvalid(yield* verifyFailure(token), "token too long")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a token whose kid is unknown", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned(validClaims(), { header: { kid: "unknown-key" }, key: stranger.privateKey })
      assertInvalid(yield* verifyFailure(token), "unknown key id")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects a token signed by another key under the current kid", () =>
    atNow(Effect.gen(function* () {
      const token = yield* handSigned(validClaims(), { key: stranger.privateKey })
      assertInvalid(yield* verifyFailure(token), "signature verification failed")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("accepts a token signed by a previous key listed in JWT_PREVIOUS_PUBLIC_KEYS", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const token = yield* handSigned(validClaims(), { header: { kid: previousJwk.kid }, key: previous.privateKey })
      const claims = yield* jwt.verify(token)
      assert.strictEqual(claims.sub, subject.userId)
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("accepts a token 29 s after exp (clock tolerance)", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const signed = yield* jwt.sign(subject)
      yield* TestClock.setTime(signed.claims.exp * 1000 + 29_000)
      const claims = yield* jwt.verify(signed.token)
      assert.strictEqual(claims.jti, signed.claims.jti)
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects with TOKEN_EXPIRED 31 s after exp", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const signed = yield* jwt.sign(subject)
      yield* TestClock.setTime(signed.claims.exp * 1000 + 31_000)
      const error = yield* verifyFailure(signed.token)
      assert.strictEqual(error.code, "TOKEN_EXPIRED")
      assert.strictEqual(error.message, "access token expired")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("accepts a token 299 s after exp with a 300 s grace", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const signed = yield* jwt.sign(subject)
      yield* TestClock.setTime(signed.claims.exp * 1000 + 299_000)
      const claims = yield* jwt.verify(signed.token, { graceSeconds: 300 })
      assert.strictEqual(claims.jti, signed.claims.jti)
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("rejects with TOKEN_EXPIRED 301 s after exp with a 300 s grace", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const signed = yield* jwt.sign(subject)
      yield* TestClock.setTime(signed.claims.exp * 1000 + 301_000)
      const error = yield* verifyFailure(signed.token, { graceSeconds: 300 })
      assert.strictEqual(error.code, "TOKEN_EXPIRED")
    }).pipe(Effect.provide(jwtConfigured()))))

  it.effect("publishes the current and previous public keys without private members", () =>
    Effect.gen(function* () {
      const jwt = yield* Jwt
      assert.deepStrictEqual(jwt.jwks.keys.map((key) => key["kid"]), [kid, previousJwk.kid])
      for (const key of jwt.jwks.keys) {
        assert.deepStrictEqual(Object.keys(key).sort(), algorithm === "ES256" ? ["alg", "crv", "kid", "kty", "use", "x", "y"] : ["alg", "crv", "kid", "kty", "use", "x"])
        assert.strictEqual(key["alg"], algorithm)
        assert.strictEqual(key["use"], "sig")
        assert.notProperty(key, "d")
      }
    }).pipe(Effect.provide(jwtConfigured())))

  it.effect("defaults the kid to the RFC 7638 thumbprint of the public key", () =>
    atNow(Effect.gen(function* () {
      const jwt = yield* Jwt
      const expected = yield* Effect.promise(async () => calculateJwkThumbprint(await exportJWK(current.publicKey)))
      assert.strictEqual(jwt.jwks.keys[0]?.["kid"], expected)
      const { token } = yield* jwt.sign(subject)
      assert.strictEqual(decodeJson(token.split(".")[0] ?? "")["kid"], expected)
    }).pipe(Effect.provide(jwtConfigured(baseConfig.slice(0, 2))))))

  it.effect("accepts a private JWK as JWT_PRIVATE_KEY", () =>
    atNow(Effect.gen(function* () {
      const privateJwk = JSON.stringify(yield* Effect.promise(() => exportJWK(current.privateKey)))
      const jwt = yield* Effect.provide(Jwt, jwtConfigured([["JWT_ALGORITHM", algorithm], ["JWT_PRIVATE_KEY", privateJwk], ["JWT_KEY_ID", kid]]))
      const token = yield* handSigned(validClaims())
      const claims = yield* jwt.verify(token)
      assert.strictEqual(claims.sid, subject.sessionId)
    })))

  it.effect("fails with a ConfigError naming JWT_PRIVATE_KEY when it is unset in production", () =>
    Effect.gen(function* () {
      const error: ConfigError.ConfigError = yield* Effect.flip(buildLayer([["JWT_ALGORITHM", algorithm], ["NODE_ENV", "production"]]))
      assert.strictEqual(error._op, "MissingData")
      assert.include(String(error), "JWT_PRIVATE_KEY")
      assert.include(String(error), "required in production")
    }))

  it.effect("fails with a ConfigError naming JWT_PRIVATE_KEY when the key is malformed", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(buildLayer([["JWT_ALGORITHM", algorithm], ["JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"]]))
      assert.include(String(error), "JWT_PRIVATE_KEY")
    }))

  it.effect("fails with a ConfigError when a previous key carries private members", () =>
    Effect.gen(function* () {
      const leaked = JSON.stringify([{ ...(yield* Effect.promise(() => exportJWK(previous.privateKey))), kid: previousJwk.kid }])
      const error = yield* Effect.flip(buildLayer([...baseConfig.slice(0, 3), ["JWT_PREVIOUS_PUBLIC_KEYS", leaked]]))
      assert.include(String(error), "JWT_PREVIOUS_PUBLIC_KEYS")
    }))
})
