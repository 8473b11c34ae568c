/**
 * Access tokens as the project issues and checks them (PROTOCOL: header `typ: at+jwt` and `kid`, claims
 * iss aud sub org sid role jti iat exp, 30 s clock tolerance), with jose, for the peer servers and for the
 * tokens the benchmark mints. Written from the contract, not imported from the project, whose internals
 * are being rewritten.
 */
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT } from "jose"
import type { CryptoKey, JWK, JWTHeaderParameters } from "jose"
import { randomUUID } from "node:crypto"

export type Algorithm = "EdDSA" | "ES256"

export const algorithms: ReadonlyArray<Algorithm> = ["EdDSA", "ES256"]

export const parseAlgorithm = (name: string, raw: string | undefined, fallback: Algorithm): Algorithm => {
  if (raw === undefined || raw.trim() === "") return fallback
  const found = algorithms.find((alg) => alg.toLowerCase() === raw.trim().toLowerCase())
  if (found === undefined) throw new Error(`${name} must be one of ${algorithms.join(", ")}, got ${raw}`)
  return found
}

export const issuer = "casecore"
export const audience = "casecore-api"
export const lifetimeSeconds = 600
export const clockToleranceSeconds = 30
export const requiredClaims = ["iss", "aud", "sub", "org", "sid", "role", "jti", "iat", "exp"]

/** A fresh signing key: PKCS8 PEM (what JWT_PRIVATE_KEY takes) and its RFC 7638 thumbprint (the default kid). */
export const generateSigningKey = async (alg: Algorithm) => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { pem: await exportPKCS8(privateKey), kid: await calculateJwkThumbprint(publicJwk), publicJwk }
}

export interface Keys {
  readonly alg: Algorithm
  readonly kid: string
  readonly signingKey: CryptoKey
  readonly verifyKeys: ReadonlyMap<string, CryptoKey>
}

/** Signing key (non-extractable copy) and public verification key from a PKCS8 PEM, like the project loads them. */
export const loadKeys = async (pem: string, alg: Algorithm, kid: string | undefined): Promise<Keys> => {
  const text = pem.trim().replaceAll("\\n", "\n")
  const { d: _private, ...publicJwk } = await exportJWK(await importPKCS8(text, alg, { extractable: true }))
  const verifyKey = await importJWK(publicJwk as JWK, alg, { extractable: false })
  if (verifyKey instanceof Uint8Array) throw new Error("expected an asymmetric key")
  const id = kid ?? (await calculateJwkThumbprint(publicJwk as JWK))
  return { alg, kid: id, signingKey: await importPKCS8(text, alg, { extractable: false }), verifyKeys: new Map([[id, verifyKey]]) }
}

export interface Subject {
  readonly userId: string
  readonly organizationId: string
  readonly sessionId: string
  readonly role: string
}

export const sign = async (keys: Keys, subject: Subject, nowMs = Date.now()) => {
  const iat = Math.floor(nowMs / 1000)
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
  const token = await new SignJWT(claims).setProtectedHeader({ alg: keys.alg, typ: "at+jwt", kid: keys.kid }).sign(keys.signingKey)
  return { token, expiresAt: new Date(claims.exp * 1000) }
}

export interface AccessClaims {
  readonly sub: string
  readonly org: string
  readonly sid: string
  readonly role: string
  readonly iat: number
  readonly exp: number
}

const maxTokenLength = 8 * 1024
const tokenShape = /^[\w-]+\.[\w-]+\.[\w-]+$/
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const roles = new Set(["ADMIN", "INVESTIGATOR", "VIEWER", "OPS"])

/** Why a token was refused (the catalog's code); never the token itself. */
export class TokenError extends Error {
  constructor(readonly code: "INVALID_TOKEN" | "TOKEN_EXPIRED", message: string) {
    super(message)
  }
}

const isString = (value: unknown): value is string => typeof value === "string"

/** jose `jwtVerify` with the algorithm pinned, the key chosen by kid, and the claims' types checked. */
export const verify = async (keys: Keys, token: string, nowMs = Date.now()): Promise<AccessClaims> => {
  if (token.length > maxTokenLength) throw new TokenError("INVALID_TOKEN", "token too long")
  if (!tokenShape.test(token)) throw new TokenError("INVALID_TOKEN", "malformed token")
  const resolveKey = (header: JWTHeaderParameters) => {
    const key = header.kid === undefined ? undefined : keys.verifyKeys.get(header.kid)
    if (key === undefined) throw new TokenError("INVALID_TOKEN", "unknown key id")
    return key
  }
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(token, resolveKey, {
      algorithms: [keys.alg],
      issuer,
      audience,
      typ: "at+jwt",
      requiredClaims,
      currentDate: new Date(nowMs),
      clockTolerance: clockToleranceSeconds
    }))
  } catch (error) {
    if (error instanceof TokenError) throw error
    const expired = error instanceof Error && "code" in error && error.code === "ERR_JWT_EXPIRED"
    throw expired ? new TokenError("TOKEN_EXPIRED", "access token expired") : new TokenError("INVALID_TOKEN", "invalid token")
  }
  const { aud, sub, org, sid, role, iat, exp } = payload
  const valid = isString(payload.iss) && (isString(aud) || (Array.isArray(aud) && aud.every(isString))) &&
    isString(sub) && uuid.test(sub) && isString(org) && uuid.test(org) && isString(sid) && uuid.test(sid) &&
    isString(role) && roles.has(role) && isString(payload.jti) && Number.isInteger(iat) && Number.isInteger(exp)
  if (!valid) throw new TokenError("INVALID_TOKEN", "unexpected claims")
  return { sub: sub as string, org: org as string, sid: sid as string, role: role as string, iat: iat as number, exp: exp as number }
}

/**
 * The kid under which the project at `origin` publishes our signing key (JWT_KEY_ID today; found by the
 * key's thumbprint otherwise), so that the tokens the benchmark mints, and the peers sign, carry the project's kid.
 */
export const publishedKid = async (origin: string, kid: string, alg: Algorithm) => {
  const response = await fetch(`${origin}/.well-known/jwks.json`)
  if (response.status !== 200) return { kid, note: `GET /.well-known/jwks.json answered ${response.status}: kid ${kid} not checked` }
  const { keys = [] } = (await response.json()) as { readonly keys?: ReadonlyArray<JWK> }
  let key = keys.find((k) => k.kid === kid)
  if (key === undefined) {
    for (const candidate of keys) if ((await calculateJwkThumbprint(candidate)) === kid) key = candidate
  }
  if (key?.kid === undefined) throw new Error(`the project does not publish our signing key (kid ${kid}, JWT_KEY_ID): ${JSON.stringify(keys)}`)
  if (key.alg !== undefined && key.alg !== alg) throw new Error(`the project publishes kid ${key.kid} with alg ${key.alg}, not ${alg}`)
  return { kid: key.kid, note: `the project publishes the key as kid ${key.kid} with alg ${key.alg ?? "(none)"}` }
}
