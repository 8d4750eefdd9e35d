import { and, count, eq, gt, min, sql } from 'drizzle-orm'
import type { Db } from './client'
import { otpFailures } from './schema'
import { insertWhere } from './sql'

/** Queries of `otp_failures`: the budget of wrong codes per email key and purpose across codes. */

const inWindow = (emailKey: string, purpose: string, since: number) =>
  and(eq(otpFailures.emailKey, emailKey), eq(otpFailures.purpose, purpose), gt(otpFailures.at, since))!

/** Records one wrong code when the window has room: one conditional insert, exact under concurrency. */
export const recordFailure = (db: Db, emailKey: string, purpose: string, now: number, since: number, budget: number) =>
  db
    .insert(otpFailures)
    .select(
      insertWhere(
        otpFailures,
        { id: crypto.randomUUID(), emailKey, purpose, at: now },
        sql`(SELECT count(*) FROM otp_failures WHERE email_key = ${emailKey} AND purpose = ${purpose} AND at > ${since}) < ${budget}`,
      ),
    )
    .returning({ id: otpFailures.id })

/** True while the window still has wrong codes left (a guard for spending a right one in the same statement). */
export const budgetLeft = (emailKey: string, purpose: string, since: number, budget: number) =>
  sql`(SELECT count(*) FROM otp_failures WHERE email_key = ${emailKey} AND purpose = ${purpose} AND at > ${since}) < ${budget}`

/** How many wrong codes the window holds, and when the oldest of them was. */
export const budgetUsed = (db: Db, emailKey: string, purpose: string, since: number) =>
  db
    .select({ used: count(), oldest: min(otpFailures.at) })
    .from(otpFailures)
    .where(inWindow(emailKey, purpose, since))
