import { describe, it, expect } from '@jest/globals'
import { ActionError, ApiError } from '../src/platform/errors.js'
import { fetchToken, givenToken, imsTokenSource } from '../src/platform/ims.js'
import { FakeClock, res, retryContext, scriptedTransport } from './unit-fakes.js'

const SECRET = 'cs-IMS-SECRET+/=&x'
const creds = {
  imsUrl: 'https://ims.example',
  clientId: 'client-abc',
  clientSecret: SECRET,
  scopes: 'openid,AdobeID'
}

describe('fetchToken', () => {
  it('POSTs the form-encoded client credentials and reports the token', async () => {
    const clock = new FakeClock()
    const t = scriptedTransport([
      res(200, { access_token: 'tok-1', token_type: 'bearer', expires_in: 86399 })
    ])
    const seen: string[] = []
    const token = await fetchToken(t, retryContext(clock), creds, (tok) => seen.push(tok))
    expect(token).toBe('tok-1')
    expect(seen).toEqual(['tok-1'])
    const r = t.calls[0]?.req
    expect(r?.method).toBe('POST')
    expect(r?.url).toBe('https://ims.example/ims/token/v3')
    expect(r?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(r?.body).toBe(
      'grant_type=client_credentials&client_id=client-abc&client_secret=cs-IMS-SECRET%2B%2F%3D%26x&scope=openid%2CAdobeID'
    )
    expect(Object.fromEntries(new URLSearchParams(r?.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-abc',
      client_secret: SECRET,
      scope: 'openid,AdobeID'
    })
  })

  it('retries a 503', async () => {
    const clock = new FakeClock()
    const t = scriptedTransport([res(503), res(200, { access_token: 'tok-2' })])
    expect(await fetchToken(t, retryContext(clock), creds, () => undefined)).toBe('tok-2')
    expect(t.calls).toHaveLength(2)
  })

  it('a rejected credential is an ApiError with a hint, without the secret', async () => {
    const clock = new FakeClock()
    const t = scriptedTransport([
      res(400, { error: 'invalid_client', error_description: 'invalid client_secret parameter' })
    ])
    let error: unknown
    try {
      await fetchToken(t, retryContext(clock), creds, () => undefined)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ApiError)
    expect((error as Error).message).toBe(
      'IMS token request failed: HTTP 400 invalid_client invalid client_secret parameter — check client-id and client-secret'
    )
    expect((error as Error).message).not.toContain(SECRET)
  })

  it('a body that is not JSON or has no access_token', async () => {
    const clock = new FakeClock()
    await expect(
      fetchToken(scriptedTransport([res(200, 'nope')]), retryContext(clock), creds, () => undefined)
    ).rejects.toThrow('IMS token request failed: the response was not valid JSON')
    const e = fetchToken(
      scriptedTransport([res(200, { token_type: 'bearer' })]),
      retryContext(clock),
      creds,
      () => undefined
    )
    await expect(e).rejects.toBeInstanceOf(ActionError)
    await expect(
      fetchToken(
        scriptedTransport([res(200, { access_token: '' })]),
        retryContext(clock),
        creds,
        () => undefined
      )
    ).rejects.toThrow('IMS token request failed: the response had no access_token')
  })
})

describe('fetchToken: a token that cannot travel in a header', () => {
  it.each([
    ['a control character', 'tok\u0007bell'],
    ['a line break', 'tok\nline'],
    ['a space', 'tok en'],
    ['non-ASCII', 'tök']
  ])('with %s: masked first, then an error naming IMS, no retry', async (_l, token) => {
    const clock = new FakeClock()
    const t = scriptedTransport([res(200, { access_token: token })])
    const seen: string[] = []
    const e = await fetchToken(t, retryContext(clock), creds, (tok) => seen.push(tok)).catch(
      (x: unknown) => x
    )
    expect(e).toBeInstanceOf(ActionError)
    expect((e as Error).message).toMatch(/^IMS token request failed: IMS returned an access token/)
    expect((e as Error).message).not.toContain(token)
    expect(seen).toEqual([token])
    expect(t.calls).toHaveLength(1)
  })
})

describe('token sources', () => {
  it('a given token cannot be refreshed', async () => {
    const s = givenToken('tok-given')
    expect(s.given).toBe(true)
    expect(await s.token()).toBe('tok-given')
    expect(await s.refresh()).toBeUndefined()
  })

  it('an IMS source fetches lazily, once, and anew on refresh', async () => {
    let n = 0
    const s = imsTokenSource(async () => `tok-${++n}`)
    expect(s.given).toBe(false)
    expect(n).toBe(0)
    const [a, b] = await Promise.all([s.token(), s.token()])
    expect([a, b, n]).toEqual(['tok-1', 'tok-1', 1])
    expect(await s.refresh()).toBe('tok-2')
    expect(await s.token()).toBe('tok-2')
    expect(n).toBe(2)
  })
})
