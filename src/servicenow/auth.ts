import type { Got } from 'got'
import { QssError } from '../errors.js'

/**
 * Credentials for ServiceNow calls: Basic, `x-sn-apikey`, or OAuth 2 bearer tokens from
 * `/oauth_token.do` (form-encoded; JSON is refused there). OAuth tokens are fetched on the
 * first call, refreshed shortly before they expire (refresh_token grant, falling back to
 * the original grant), and fetched once concurrently however many callers wait. Nothing
 * here ever puts a credential into an error message.
 */

export type ServiceNowAuth =
  | { mode: 'basic', username: string, password: string }
  | { mode: 'oauth', clientId: string, clientSecret: string, username?: string, password?: string }
  | { mode: 'apikey', apiKey: string }

export interface Authenticator {
  readonly mode: ServiceNowAuth['mode']
  /** Headers proving who we are; may fetch a token. */
  headers (): Promise<Record<string, string>>
  /** Called after a 401 with the headers that got it; true when a fresh attempt may succeed. */
  rejected (sent: Record<string, string>): boolean
  /** OAuth token requests made so far. */
  tokenFetches (): number
}

interface Token { access: string, refresh?: string, expiresAt: number, lifetimeMs: number }

// Refresh this early: a token that expires in flight would cost a 401 and a retry.
const refreshMargin = (lifetimeMs: number) => Math.min(60_000, lifetimeMs / 10)

export function createAuthenticator (auth: ServiceNowAuth, http: Got, baseUrl: string, timeoutMs: number): Authenticator {
  if (auth.mode === 'basic') {
    const header = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
    return { mode: 'basic', headers: async () => ({ authorization: header }), rejected: () => false, tokenFetches: () => 0 }
  }
  if (auth.mode === 'apikey') {
    return { mode: 'apikey', headers: async () => ({ 'x-sn-apikey': auth.apiKey }), rejected: () => false, tokenFetches: () => 0 }
  }

  const oauth = auth
  let token: Token | undefined
  let pending: Promise<Token> | undefined
  let fetches = 0

  async function requestToken (form: Record<string, string>): Promise<Token | undefined> {
    fetches++
    let res
    try {
      res = await http.post(`${baseUrl}/oauth_token.do`, {
        form: { ...form, client_id: oauth.clientId, client_secret: oauth.clientSecret },
        timeout: { request: timeoutMs }
      })
    } catch (err) {
      throw new QssError('QSS_SERVICENOW_UNAVAILABLE', `ServiceNow OAuth token request failed: ${(err as { code?: string }).code ?? 'network error'}`, { statusCode: 502 })
    }
    if (res.statusCode !== 200) return undefined
    let body: { access_token?: unknown, refresh_token?: unknown, expires_in?: unknown }
    try {
      body = JSON.parse(res.body) as typeof body
    } catch {
      return undefined
    }
    if (typeof body.access_token !== 'string') return undefined
    const lifetimeMs = Math.max(Number(body.expires_in ?? 1799), 1) * 1000
    return {
      access: body.access_token,
      ...(typeof body.refresh_token === 'string' ? { refresh: body.refresh_token } : {}),
      expiresAt: Date.now() + lifetimeMs,
      lifetimeMs
    }
  }

  async function fetchToken (): Promise<Token> {
    const refresh = token?.refresh
    if (refresh !== undefined) {
      const refreshed = await requestToken({ grant_type: 'refresh_token', refresh_token: refresh })
      if (refreshed !== undefined) return refreshed
    }
    const fresh = oauth.username !== undefined && oauth.password !== undefined
      ? await requestToken({ grant_type: 'password', username: oauth.username, password: oauth.password })
      : await requestToken({ grant_type: 'client_credentials' })
    if (fresh === undefined) {
      throw new QssError('QSS_SERVICENOW_AUTH', 'ServiceNow refused the OAuth token request: check SERVICENOW_CLIENT_ID, SERVICENOW_CLIENT_SECRET and the user credentials', { statusCode: 502 })
    }
    return fresh
  }

  async function current (): Promise<Token> {
    if (token !== undefined && Date.now() < token.expiresAt - refreshMargin(token.lifetimeMs)) return token
    pending ??= fetchToken().then((t) => { token = t; return t }).finally(() => { pending = undefined })
    return await pending
  }

  return {
    mode: 'oauth',
    headers: async () => ({ authorization: `Bearer ${(await current()).access}` }),
    rejected: (sent) => {
      // Only the token that was refused is dropped: a concurrent caller may already hold a new one.
      if (token !== undefined && sent.authorization === `Bearer ${token.access}`) token = { ...token, expiresAt: 0 }
      return true
    },
    tokenFetches: () => fetches
  }
}
