import { Schema } from "effect"

/** A lone UTF-16 surrogate: not encodable as UTF-8, so PostgreSQL (and JSON elsewhere) would refuse it. */
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * A string from outside. Every message is our own: a default parse message quotes the value it got
 * (a password, a token, or a megabyte of nested arrays whose formatting overflowed the stack); and a
 * NUL byte or an unpaired surrogate is VALIDATION_ERROR here, not an error from the database later.
 */
export const Text = Schema.String.annotations({ message: () => "expected a string" }).pipe(
  Schema.filter((value) => !value.includes("\u0000") && !unpairedSurrogate.test(value), {
    message: () => "must be text: no NUL byte, no unpaired surrogate"
  })
)

/** Text of 1 to `max` characters. */
export const BoundedText = (max: number) =>
  Text.pipe(
    Schema.minLength(1, { message: () => "must not be empty" }),
    Schema.maxLength(max, { message: () => `must be at most ${max} characters` })
  )

/** The body of a request: nested failures name their field; anything else is "expected a JSON object". */
export const Input = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).annotations({ message: () => ({ message: "expected a JSON object", override: false }) })
