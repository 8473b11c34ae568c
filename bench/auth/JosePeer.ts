/**
 * Item a of bench/auth: a raw jose ES256 verification doing the same work per token as the project's
 * `Jwt.verify` (PROTOCOL, Tokens; issue 7 item 4), written as a plain async function: the token's length
 * and shape, the key chosen by `kid` with its algorithm pinned, `typ`, `iss`, `aud`, every claim required,
 * 30 s clock tolerance, the claims' types (UUIDs, a known role), no `iat` in the future and no lifetime
 * longer than issued. The shared part is bench/http/Jwt.ts (also the peers' verification in bench/http).
 */
import { clockToleranceSeconds, type Keys, lifetimeSeconds as defaultLifetimeSeconds, TokenError, verify } from "../http/Jwt.ts"

export const verifyLikeTheProject = async (keys: Keys, token: string, lifetimeSeconds = defaultLifetimeSeconds) => {
  const nowMs = Date.now()
  const claims = await verify(keys, token, nowMs)
  const iat = claims.iat
  if (iat > nowMs / 1000 + clockToleranceSeconds) throw new TokenError("INVALID_TOKEN", "issued in the future")
  if (claims.exp - iat > lifetimeSeconds + clockToleranceSeconds) throw new TokenError("INVALID_TOKEN", "lifetime too long")
  return claims
}
