import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createRemoteJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, SignJWT } from "jose"
import jsonwebtoken from "jsonwebtoken"
import jwksRsa from "jwks-rsa"
import { BaseUrl, createOrganization, password, ServerTest, type TestUser, uniqueSlug } from "../support/TestApp.ts"

/**
 * The access tokens are for other services of the platform too: a NestJS service verifies them with
 * jsonwebtoken 9 and jwks-rsa 4 (what passport-jwt and @nestjs/jwt use) against our JWKS, a modern one
 * with jose's remote key set. Neither library was written here.
 */

const previous = await generateKeyPair("ES256", { extractable: true })
const previousKid = "retired-2026-10"
const previousJwk = { ...(await exportJWK(previous.publicKey)), kid: previousKid }

const login = (user: TestUser) =>
  Effect.flatMap(BaseUrl, (baseUrl) =>
    Effect.promise(async () => {
      const response = await fetch(`${baseUrl}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: user.email, password, organization: user.organization })
      })
      assert.strictEqual(response.status, 200)
      return ((await response.json()) as { accessToken: string }).accessToken
    }))

const headerOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { alg: string; kid: string }

/** jsonwebtoken + jwks-rsa, configured the way a NestJS service configures passport-jwt. */
const verifyLikeNest = (baseUrl: string, token: string) =>
  Effect.tryPromise(async () => {
    const client = jwksRsa({ jwksUri: `${baseUrl}/.well-known/jwks.json`, cache: false })
    const key = await client.getSigningKey(headerOf(token).kid)
    return jsonwebtoken.verify(token, key.getPublicKey(), { algorithms: ["ES256"], issuer: "casecore", audience: "casecore-api" }) as jsonwebtoken.JwtPayload
  })

const verifyWithJose = (baseUrl: string, token: string) =>
  Effect.promise(async () =>
    (await jwtVerify(token, createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`)), { issuer: "casecore", audience: "casecore-api", typ: "at+jwt" })).payload)

describe("access tokens verified by libraries from other ecosystems", () => {
  layer(ServerTest({ JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([previousJwk]) }), { timeout: 60_000, excludeTestServices: true })((it) => {
    it.effect("an issued ES256 token verifies with jsonwebtoken 9 + jwks-rsa 4 against the server's JWKS", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("interop"))
        const token = yield* login(users.VIEWER)
        assert.strictEqual(headerOf(token).alg, "ES256")
        const payload = yield* verifyLikeNest(yield* BaseUrl, token)
        assert.strictEqual(payload.sub, users.VIEWER.id)
        assert.strictEqual(payload["org"], users.VIEWER.organizationId)
      }))

    it.effect("an issued ES256 token verifies with jose's createRemoteJWKSet", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("interop"))
        const token = yield* login(users.ADMIN)
        const payload = yield* verifyWithJose(yield* BaseUrl, token)
        assert.strictEqual(payload.sub, users.ADMIN.id)
        assert.strictEqual(payload["role"], "ADMIN")
      }))

    it.effect("a token signed by a previous key still published in JWKS verifies with jwks-rsa", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("interop"))
        const now = Math.floor(Date.now() / 1000)
        const token = yield* Effect.promise(() =>
          new SignJWT({ sub: users.VIEWER.id, org: users.VIEWER.organizationId, sid: crypto.randomUUID(), role: "VIEWER", jti: crypto.randomUUID() })
            .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: previousKid })
            .setIssuer("casecore")
            .setAudience("casecore-api")
            .setIssuedAt(now)
            .setExpirationTime(now + 600)
            .sign(previous.privateKey))
        const payload = yield* verifyLikeNest(yield* BaseUrl, token)
        assert.strictEqual(payload.sub, users.VIEWER.id)
      }))

    it.effect("jsonwebtoken refuses a token whose alg was changed to HS256 with the public key as secret", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("interop"))
        const token = yield* login(users.VIEWER)
        const [, payload] = token.split(".")
        const forged = `${Buffer.from(JSON.stringify({ alg: "HS256", typ: "at+jwt", kid: headerOf(token).kid })).toString("base64url")}.${payload}.AAAA`
        const error = yield* Effect.flip(verifyLikeNest(yield* BaseUrl, forged))
        assert.include(String(error.error), "invalid algorithm")
      }))
  })

  layer(
    Layer.unwrapEffect(
      Effect.promise(async () => {
        const { privateKey } = await generateKeyPair("EdDSA", { extractable: true })
        return ServerTest({ JWT_ALGORITHM: "EdDSA", JWT_PRIVATE_KEY: await exportPKCS8(privateKey) })
      })
    ),
    { timeout: 60_000, excludeTestServices: true }
  )((it) => {
    it.effect("with JWT_ALGORITHM=EdDSA the server signs EdDSA, accepts its tokens and jose verifies them", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("interop"))
        const token = yield* login(users.VIEWER)
        assert.strictEqual(headerOf(token).alg, "EdDSA")
        const baseUrl = yield* BaseUrl
        assert.strictEqual((yield* verifyWithJose(baseUrl, token)).sub, users.VIEWER.id)
        const sessions = yield* Effect.promise(() => fetch(`${baseUrl}/auth/sessions`, { headers: { authorization: `Bearer ${token}` } }))
        assert.strictEqual(sessions.status, 200)
      }))
  })
})
