import { Schema } from "effect"
import { type ErrorCode, errorCatalog } from "../domain/Errors.ts"

const encoder = new TextEncoder()

/** One frame, serialized once whatever the number of recipients (`ws.send(bytes, { binary: false })`). */
export const frame = (event: string, data?: unknown, id?: string | number) =>
  encoder.encode(JSON.stringify(id === undefined ? { event, data } : { event, id, data }))

/** `{ event: "error", id?, data: { code, message } }`. */
export const errorFrame = (code: ErrorCode, message: string, id?: string | number) => frame("error", { code, message }, id)

/** The close code of an error that closes a socket (PROTOCOL's table). */
export const closeCodeOf = (code: ErrorCode): number => errorCatalog[code].close ?? 1008

/** The envelope of a client frame: `{ event, data?, id? }`. */
export const Envelope = Schema.Struct({
  event: Schema.String,
  data: Schema.optional(Schema.Unknown),
  id: Schema.optional(Schema.Union(Schema.String.pipe(Schema.maxLength(64)), Schema.Number))
})
export type Envelope = typeof Envelope.Type

const isEnvelope = Schema.is(Envelope)

/** A text frame as an envelope, or why not (BAD_REQUEST: not JSON, not an object, no string `event`). */
export const parseEnvelope = (text: string): Envelope | undefined => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) && isEnvelope(value) ? value : undefined
}
