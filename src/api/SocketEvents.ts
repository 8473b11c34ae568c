import { Schema } from "effect"
import { Input, Text } from "../domain/Text.ts"

/** A notification id: the decimal form of a positive 64-bit integer. */
export const NotificationIdText = Text.pipe(
  Schema.pattern(/^[1-9][0-9]{0,18}$/, { message: () => "expected a notification id (a decimal string)" }),
  Schema.filter((value) => BigInt(value) <= 9_223_372_036_854_775_807n, { message: () => "expected a notification id (a decimal string)" })
)

const Token = Text.pipe(Schema.maxLength(8 * 1024, { message: () => "must be at most 8192 characters" }))

/** The data of each client event of the socket protocol (PROTOCOL.md), with messages naming the field. */
export const ConnectData = Input({
  auth: Schema.optional(Input({ token: Token })),
  resume: Schema.optional(Input({ lastNotificationId: NotificationIdText }))
})

export const GetRecentData = Input({
  limit: Schema.optional(
    Schema.Int.annotations({ message: () => "expected an integer" }).pipe(
      Schema.between(1, 100, { message: () => "must be from 1 to 100" })
    )
  ),
  before: Schema.optional(NotificationIdText)
})

export const MarkReadData = Input({
  ids: Schema.Array(NotificationIdText).annotations({ message: () => "expected a list of notification ids" }).pipe(
    Schema.minItems(1, { message: () => "must list at least 1 id" }),
    Schema.maxItems(100, { message: () => "must list at most 100 ids" })
  )
})

export const RoomData = Input({ room: Text.pipe(Schema.maxLength(100, { message: () => "must be at most 100 characters" })) })

export const AuthRefreshData = Input({ token: Schema.optional(Token) })

export const EmptyData = Input({})
