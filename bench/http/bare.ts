/**
 * The bare peer: node:http, no framework, doing the project's per-request work (PeerWork.ts).
 * Env: the project's own (PORT, HOST, DATABASE_URL, DB_POOL_MAX, JWT_PRIVATE_KEY, JWT_ALGORITHM, JWT_KEY_ID,
 * REFRESHES_PER_SESSION_PER_MINUTE, HTTP_MAX_BODY_BYTES).
 */
import * as Http from "node:http"
import { stopOn } from "./Peer.ts"
import { type Answer, makeWork, refreshTokenOf } from "./PeerWork.ts"

const work = await makeWork("bench-bare")

const send = (res: Http.ServerResponse, answer: Answer) => {
  const body = JSON.stringify(answer.body)
  res.writeHead(answer.status, { ...answer.headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

/** The whole body as text, or an answer when it is too large (413 before reading, as the contract says). */
const readBody = (req: Http.IncomingMessage) =>
  new Promise<string | Answer>((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0)
    if (declared > work.maxBodyBytes) return resolve(work.payloadTooLarge())
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > work.maxBodyBytes) req.destroy()
      else chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const refresh = async (req: Http.IncomingMessage): Promise<Answer> => {
  const text = await readBody(req)
  if (typeof text !== "string") return text
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return work.badRequest("BAD_REQUEST", "the body must be a JSON object")
  }
  const token = refreshTokenOf(body)
  if (typeof token !== "string") return work.badRequest("VALIDATION_ERROR", token.invalid)
  return work.refresh(token, { ip: req.socket.remoteAddress ?? "unknown", userAgent: req.headers["user-agent"] })
}

const route = (req: Http.IncomingMessage): Answer | Promise<Answer> => {
  const path = (req.url ?? "/").split("?")[0]
  if (req.method === "GET" && path === "/healthz") return work.healthz()
  if (req.method === "GET" && path === "/auth/sessions") return work.listSessions(req.headers.authorization)
  if (req.method === "POST" && path === "/auth/refresh") return refresh(req)
  return work.notFound()
}

const failed = (res: Http.ServerResponse) => (cause: unknown) => {
  console.error("request failed", cause)
  send(res, work.internal())
}

const server = Http.createServer((req, res) => {
  try {
    const answer = route(req)
    if (answer instanceof Promise) answer.then((value) => send(res, value), failed(res))
    else send(res, answer)
  } catch (cause) {
    failed(res)(cause)
  }
})

await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "0.0.0.0", resolve))
stopOn(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await work.close()
})
