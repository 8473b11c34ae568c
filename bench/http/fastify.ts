/**
 * The Fastify peer, written the way its users write one: route handlers, a JSON schema for the body
 * (Fastify's own JSON parser and Ajv), `reply.send` of plain objects, an error and a not-found handler;
 * the per-request work is the bare peer's (PeerWork.ts). Env: as bench/http/bare.ts.
 */
import Fastify from "fastify"
import { stopOn } from "./Peer.ts"
import { makeWork, type Answer } from "./PeerWork.ts"

const work = await makeWork("bench-fastify")
const app = Fastify({ logger: false, bodyLimit: work.maxBodyBytes })

const reply = <R extends { code(status: number): R; headers(values: Readonly<Record<string, string>>): R; send(body: unknown): R }>(
  to: R,
  answer: Answer
) => to.code(answer.status).headers(answer.headers ?? {}).send(answer.body)

app.get("/healthz", async (_request, response) => response.send({ status: "ok" }))

app.get("/auth/sessions", async (request, response) => reply(response, await work.listSessions(request.headers.authorization)))

app.post<{ Body: { refreshToken: string } }>(
  "/auth/refresh",
  {
    schema: {
      body: {
        type: "object",
        required: ["refreshToken"],
        properties: { refreshToken: { type: "string", minLength: 1, maxLength: 200 } }
      }
    }
  },
  async (request, response) =>
    reply(response, await work.refresh(request.body.refreshToken, { ip: request.ip, userAgent: request.headers["user-agent"] }))
)

app.setErrorHandler(async (error: { validation?: unknown; statusCode?: number; message: string }, _request, response) => {
  if (error.validation !== undefined) return reply(response, work.badRequest("VALIDATION_ERROR", error.message))
  if (error.statusCode === 413) return reply(response, work.payloadTooLarge())
  if (error.statusCode !== undefined && error.statusCode < 500) return reply(response, work.badRequest("BAD_REQUEST", "the body must be a JSON object"))
  console.error("request failed", error)
  return reply(response, work.internal())
})

app.setNotFoundHandler(async (_request, response) => reply(response, work.notFound()))

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? "0.0.0.0" })
stopOn(async () => {
  await app.close()
  await work.close()
})
