import { Schema } from "effect"

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" }))

export const LoginRequest = Schema.Struct({
  email: NonEmpty.pipe(Schema.maxLength(254)),
  password: Schema.Redacted(NonEmpty.pipe(Schema.maxLength(1024))),
  organization: Schema.optional(NonEmpty.pipe(Schema.maxLength(63)))
})

export const RefreshRequest = Schema.Struct({
  refreshToken: Schema.Redacted(NonEmpty.pipe(Schema.maxLength(200)))
})
