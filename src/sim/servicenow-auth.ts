import { randomBytes } from 'node:crypto'

/**
 * The simulator's authentication: Basic, `x-sn-apikey`, and OAuth 2 bearer tokens issued
 * by `/oauth_token.do` (form-encoded only, as on an instance) with the password,
 * refresh_token and client_credentials grants. Access tokens expire and then answer 401.
 */

export interface SimCredentials {
  username: string
  password: string
  clientId: string
  clientSecret: string
  apiKey: string
}

export interface TokenReply { status: number, body: Record<string, unknown> }

interface IssuedToken { user: string, expiresAt: number }

export class SimAuth {
  readonly credentials: SimCredentials
  tokenTtlSec: number
  private readonly accessTokens = new Map<string, IssuedToken>()
  private readonly refreshTokens = new Map<string, string>()
  readonly grants: Record<string, number> = {}

  constructor (credentials: SimCredentials, tokenTtlSec: number) {
    this.credentials = credentials
    this.tokenTtlSec = tokenTtlSec
  }

  /** The user a request acts as, or undefined when it is not authenticated. */
  authenticate (headers: Record<string, string | string[] | undefined>): string | undefined {
    const apiKey = headers['x-sn-apikey']
    if (typeof apiKey === 'string') return apiKey === this.credentials.apiKey ? this.credentials.username : undefined
    const authorization = headers.authorization
    if (typeof authorization !== 'string') return undefined
    const [scheme, value = ''] = authorization.split(' ', 2)
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      const user = decoded.slice(0, colon)
      return colon > 0 && user === this.credentials.username && decoded.slice(colon + 1) === this.credentials.password ? user : undefined
    }
    if (scheme?.toLowerCase() === 'bearer') {
      const token = this.accessTokens.get(value)
      if (token === undefined || token.expiresAt <= Date.now()) return undefined
      return token.user
    }
    return undefined
  }

  /** Makes every issued access token expire now (refresh tokens stay valid). */
  expireAccessTokens (): void {
    for (const token of this.accessTokens.values()) token.expiresAt = 0
  }

  private issue (user: string): TokenReply {
    const accessToken = randomBytes(24).toString('base64url')
    const refreshToken = randomBytes(24).toString('base64url')
    this.accessTokens.set(accessToken, { user, expiresAt: Date.now() + this.tokenTtlSec * 1000 })
    this.refreshTokens.set(refreshToken, user)
    return {
      status: 200,
      body: {
        access_token: accessToken,
        refresh_token: refreshToken,
        scope: 'useraccount',
        token_type: 'Bearer',
        // An instance reports one second less than the configured lifetime.
        expires_in: Math.max(this.tokenTtlSec - 1, 0)
      }
    }
  }

  /** `/oauth_token.do`; `form` is undefined when the body was not form-encoded. */
  token (form: URLSearchParams | undefined): TokenReply {
    const denied: TokenReply = { status: 401, body: { error_description: 'access_denied', error: 'server_error' } }
    if (form === undefined) return denied
    const grant = form.get('grant_type') ?? ''
    this.grants[grant] = (this.grants[grant] ?? 0) + 1
    const c = this.credentials
    if (form.get('client_id') !== c.clientId || form.get('client_secret') !== c.clientSecret) return denied
    switch (grant) {
      case 'password':
        if (form.get('username') !== c.username || form.get('password') !== c.password) return denied
        return this.issue(c.username)
      case 'client_credentials':
        return this.issue(c.username)
      case 'refresh_token': {
        const refreshToken = form.get('refresh_token') ?? ''
        const user = this.refreshTokens.get(refreshToken)
        if (user === undefined) return denied
        this.refreshTokens.delete(refreshToken)
        return this.issue(user)
      }
      default:
        return { status: 400, body: { error_description: 'unsupported grant_type', error: 'unsupported_grant_type' } }
    }
  }
}
