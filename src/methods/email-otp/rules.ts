import { liveUserById } from '../../db/users'
import { ApiError } from '../../errors'
import { audit } from '../../services/audit'
import { codeKey, issueCode, prepareCode, readCode, redeemCode } from '../../services/codes'
import type { Deps } from '../../services/deps'
import { prepareChallengeSession } from '../../services/sign-in'
import type { IssuedTokens } from '../../services/sessions'
import type { Amr, SecondStep } from '../types'

/** Due after a password when LOGIN_OTP=required: the challenge is a `login` code mailed to the account. */
export const emailOtpStep: SecondStep = {
  methods: ['email_otp'],
  due: (deps, factor) => deps.config.loginOtp === 'required' && factor.amr.includes('pwd'),
  async open(deps, factor, now) {
    const { user } = factor
    const challengeId = crypto.randomUUID()
    const code = prepareCode(
      deps,
      { userId: user.id, email: user.email, purpose: 'login', key: codeKey.challenge(challengeId), newChallenge: true, amr: factor.amr },
      now,
    )
    const [inserted] = await deps.db.batch([...code.statements, ...(factor.also ?? [])])
    await code.finish(inserted)
    return { challengeId, expiresIn: deps.config.otpTtl }
  },
}

/** Completes an `email_otp` challenge: the mailed code opens the session and proves the email. */
export async function completeLogin(deps: Deps, challengeId: string, code: string, now = Date.now()): Promise<IssuedTokens> {
  let session: Awaited<ReturnType<typeof prepareChallengeSession>> | undefined
  let firstProof = false
  const { results } = await redeemCode(deps, { key: codeKey.challenge(challengeId), purpose: 'login' }, code, now, async (spent, stored) => {
    const [user] = await liveUserById(deps.db, stored.userId)
    if (!user) throw new ApiError('OTP_EXPIRED')
    firstProof = user.emailVerifiedAt === null
    const first = (stored.amr ?? ['pwd']) as Amr[]
    session = await prepareChallengeSession(deps, { user, amr: [...first, 'email_otp'], aal: 'aal1', emailProven: true }, now)
    return session.statements(spent)
  })
  const tokens = await session!.finish(results[0])
  if (firstProof) audit(deps, { type: 'email_verified', userId: tokens.user.id }, now)
  return tokens
}

/** Sends a fresh login code for an open challenge; the new code replaces the old. */
export async function resendLoginCode(deps: Deps, challengeId: string, now = Date.now()) {
  const key = codeKey.challenge(challengeId)
  const stored = await readCode(deps, key)
  // A challenge an authenticator app completes is never turned into a mailed code (no downgrade).
  if (!stored || stored.expiresAt <= now || stored.purpose !== 'login' || (stored.methods && !stored.methods.includes('email_otp'))) throw new ApiError('OTP_EXPIRED')
  await issueCode(deps, { userId: stored.userId, email: stored.email, purpose: 'login', key, replaces: stored.codeId, ...(stored.amr ? { amr: stored.amr } : {}) }, now)
  return { challengeId, expiresIn: deps.config.otpTtl }
}
