import { describe, it, expect } from '@jest/globals'
// The toolkit's client (a dependency of @actions/core): the rules the action must match.
import { getProxyUrl } from '@actions/http-client'
import {
  bypassesProxy,
  describeRoutes,
  proxyConfig,
  proxyFor,
  ProxyConfigError,
  proxySecrets
} from '../src/platform/proxy.js'

const PROXY_VARS = [
  'https_proxy',
  'HTTPS_PROXY',
  'http_proxy',
  'HTTP_PROXY',
  'no_proxy',
  'NO_PROXY'
] as const
type Env = Partial<Record<(typeof PROXY_VARS)[number], string>>

/** What @actions/http-client would use for this URL under this environment ('' = direct). */
function toolkitProxy(url: string, env: Env): string {
  const saved = PROXY_VARS.map((k) => [k, process.env[k]] as const)
  try {
    for (const k of PROXY_VARS) delete process.env[k]
    Object.assign(process.env, env)
    return getProxyUrl(url)
  } finally {
    for (const [k, v] of saved)
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  }
}

const ours = (url: string, env: Env) => proxyFor(new URL(url), proxyConfig(env))?.href ?? ''

const P = 'http://proxy.corp:3128/'
const Q = 'http://other.corp:8080/'

/** [url, env]: every case is checked against @actions/http-client itself. */
const MATRIX: Array<[string, Env]> = [
  ['https://platform.adobe.io', {}],
  ['https://platform.adobe.io', { HTTPS_PROXY: P }],
  ['https://platform.adobe.io', { https_proxy: P }],
  ['https://platform.adobe.io', { https_proxy: P, HTTPS_PROXY: Q }],
  ['https://platform.adobe.io', { https_proxy: '', HTTPS_PROXY: Q }],
  ['https://platform.adobe.io', { HTTP_PROXY: P }],
  ['http://platform.adobe.io', { HTTP_PROXY: P }],
  ['http://platform.adobe.io', { http_proxy: P, HTTP_PROXY: Q }],
  ['http://platform.adobe.io', { HTTPS_PROXY: P }],
  ['https://platform.adobe.io', { HTTPS_PROXY: 'http://user:p%40ss@proxy.corp:3128' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: 'https://proxy.corp' }],
  // loopback is never proxied
  ['https://localhost:8443', { HTTPS_PROXY: P }],
  ['https://LOCALHOST', { HTTPS_PROXY: P }],
  ['http://127.0.0.1:3000', { HTTP_PROXY: P }],
  ['http://127.1.2.3', { HTTP_PROXY: P }],
  ['http://[::1]:3000', { HTTP_PROXY: P }],
  ['http://[0:0:0:0:0:0:0:1]:3000', { HTTP_PROXY: P }],
  ['http://10.0.0.1', { HTTP_PROXY: P }],
  // NO_PROXY: exact host
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'platform.adobe.io' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'PLATFORM.adobe.IO' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, no_proxy: 'platform.adobe.io' }],
  [
    'https://platform.adobe.io',
    { HTTPS_PROXY: P, no_proxy: 'x.test', NO_PROXY: 'platform.adobe.io' }
  ],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, no_proxy: '', NO_PROXY: 'platform.adobe.io' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'adobe.io.evil.com' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'tform.adobe.io' }],
  // NO_PROXY: domain suffix, with or without a leading dot
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'adobe.io' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: '.adobe.io' }],
  ['https://adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'adobe.io' }],
  ['https://adobe.io', { HTTPS_PROXY: P, NO_PROXY: '.adobe.io' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'io' }],
  // NO_PROXY: lists, spaces, empty entries, host:port
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'a.test, b.test ,adobe.io' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: ',,a.test,,' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'platform.adobe.io:443' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'platform.adobe.io:8443' }],
  ['https://platform.adobe.io:8443', { HTTPS_PROXY: P, NO_PROXY: 'platform.adobe.io:8443' }],
  ['http://platform.adobe.io', { HTTP_PROXY: P, NO_PROXY: 'platform.adobe.io:80' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'adobe.io:443' }],
  // NO_PROXY: wildcard
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: '*' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: P, NO_PROXY: 'a.test,*' }],
  // IP addresses
  ['https://10.1.2.3', { HTTPS_PROXY: P, NO_PROXY: '10.1.2.3' }],
  ['https://10.1.2.3', { HTTPS_PROXY: P, NO_PROXY: '10.1.2' }],
  // a proxy given as host:port, as many runners' .env files do
  ['https://platform.adobe.io', { HTTPS_PROXY: 'proxy.corp:3128' }],
  ['https://platform.adobe.io', { HTTPS_PROXY: 'user:pw@proxy.corp:3128' }]
]

describe('proxy choice matches @actions/http-client', () => {
  it.each(MATRIX)('%s with %j', (url, env) => {
    const expected = toolkitProxy(url, env)
    // http-client reads "proxy.corp:3128" as a URL with the scheme "proxy.corp:" (and then
    // cannot use it); the action reads it as http://proxy.corp:3128, as the runner does.
    const hostless = expected && !new URL(expected).hostname
    expect(ours(url, env)).toBe(hostless ? new URL(`http://${env.HTTPS_PROXY}`).href : expected)
  })

  it('covers the matrix both ways: some cases proxied, some direct', () => {
    const results = MATRIX.map(([u, e]) => ours(u, e))
    expect(results.filter((r) => r === '').length).toBeGreaterThan(15)
    expect(results.filter((r) => r !== '').length).toBeGreaterThan(15)
  })

  it('one difference: "*.example.com" is read as ".example.com" (http-client never matches it)', () => {
    const env = { HTTPS_PROXY: P, NO_PROXY: '*.adobe.io' }
    expect(toolkitProxy('https://platform.adobe.io', env)).toBe(P)
    expect(ours('https://platform.adobe.io', env)).toBe('')
    expect(ours('https://adobe.io', env)).toBe(P)
  })
})

describe('bypassesProxy', () => {
  const u = (s: string) => new URL(s)
  it('never proxies loopback, whatever NO_PROXY says', () => {
    expect(bypassesProxy(u('http://localhost:1'), '')).toBe(true)
    expect(bypassesProxy(u('http://127.0.0.1'), 'nothing.test')).toBe(true)
    expect(bypassesProxy(u('http://[::1]'), '')).toBe(true)
  })
  it('an empty list bypasses nothing else', () => {
    expect(bypassesProxy(u('https://a.test'), '')).toBe(false)
    expect(bypassesProxy(u('https://a.test'), ' , ')).toBe(false)
  })
})

describe('proxyConfig and proxyFor', () => {
  it('keeps the credentials for undici and prints only scheme, host and port', () => {
    const c = proxyConfig({ HTTPS_PROXY: 'http://svc:s3cr%2Ft@proxy.corp:3128' })
    const p = proxyFor(new URL('https://platform.adobe.io'), c)
    expect(p).toMatchObject({
      href: 'http://svc:s3cr%2Ft@proxy.corp:3128/',
      display: 'http://proxy.corp:3128',
      host: 'proxy.corp:3128',
      variable: 'HTTPS_PROXY',
      hasCredentials: true,
      authorization: `Basic ${Buffer.from('svc:s3cr/t').toString('base64')}`
    })
  })

  it('a user name without a password is still sent: Basic base64("user:"), as http-client does', () => {
    const p = proxyConfig({ HTTPS_PROXY: 'http://t%40ken@proxy.corp:3128' }).https
    expect(p).toMatchObject({
      display: 'http://proxy.corp:3128',
      hasCredentials: true,
      authorization: `Basic ${Buffer.from('t@ken:').toString('base64')}`
    })
    expect(proxyConfig({ HTTPS_PROXY: 'http://proxy.corp:3128' }).https).not.toHaveProperty(
      'authorization'
    )
  })

  it.each([
    ['a path', 'http://u:pw@proxy.corp:3128/corp'],
    ['a query', 'http://u:pw@proxy.corp:3128?x=1'],
    ['a fragment', 'http://u:pw@proxy.corp:3128#frag'],
    ['all three', 'http://u:pw@proxy.corp:3128/a/b/?c=d#e'],
    ['a trailing slash', 'http://u:pw@proxy.corp:3128/']
  ])('a proxy URL with %s: only scheme, credentials, host and port are used', (_, value) => {
    const p = proxyConfig({ HTTPS_PROXY: value }).https
    expect(p).toMatchObject({
      href: 'http://u:pw@proxy.corp:3128/',
      display: 'http://proxy.corp:3128',
      host: 'proxy.corp:3128'
    })
  })

  it.each([
    ["an unencoded '#' in the password", 'http://carol:12#34secret@proxy.corp:3128'],
    ["an unencoded '/' in the password", 'http://carol:12/34secret@proxy.corp:3128'],
    ["an unencoded '?' in the password", 'http://carol:12?34secret@proxy.corp:3128']
  ])('%s: a ProxyConfigError naming the variable, never the value; still masked', (_, value) => {
    const c = proxyConfig({ https_proxy: value })
    const e = (() => {
      try {
        proxyFor(new URL('https://platform.adobe.io'), c)
      } catch (err) {
        return err
      }
      return undefined
    })()
    expect(e).toBeInstanceOf(ProxyConfigError)
    expect((e as Error).message).toMatch(/^https_proxy is not a valid proxy URL/)
    expect((e as Error).message).not.toMatch(/carol|secret|proxy\.corp/)
    expect(proxySecrets({ https_proxy: value })).toEqual(
      expect.arrayContaining([value, value.slice('http://'.length, value.lastIndexOf('@'))])
    )
  })

  it("a '%' that is not an escape in the credentials: a ProxyConfigError, not a crash", () => {
    const c = proxyConfig({ HTTPS_PROXY: 'http://u:50%off@proxy.corp:3128' })
    expect(() => proxyFor(new URL('https://platform.adobe.io'), c)).toThrow(
      "HTTPS_PROXY is not a valid proxy URL: a '%' in the user name or password must be written %25"
    )
  })

  it('fills in the default port of the proxy scheme', () => {
    const c = proxyConfig({ https_proxy: 'https://proxy.corp', http_proxy: 'http://proxy.corp' })
    expect(c.https).toMatchObject({ host: 'proxy.corp:443', variable: 'https_proxy' })
    expect(c.http).toMatchObject({ host: 'proxy.corp:80', variable: 'http_proxy' })
  })

  it('a variable that cannot be used fails the requests that need it, naming it, not its value', () => {
    const c = proxyConfig({ HTTPS_PROXY: 'http://user:pw@[bad', HTTP_PROXY: 'socks5://x:1' })
    expect(() => proxyFor(new URL('https://platform.adobe.io'), c)).toThrow(ProxyConfigError)
    expect(() => proxyFor(new URL('https://platform.adobe.io'), c)).toThrow(
      /^HTTPS_PROXY is not a valid proxy URL/
    )
    expect(() => proxyFor(new URL('http://a.test'), c)).toThrow(
      'HTTP_PROXY names a socks5 proxy; only http:// and https:// proxies are supported'
    )
    // Not needed, not fatal: loopback and NO_PROXY hosts go direct.
    expect(proxyFor(new URL('https://127.0.0.1'), c)).toBeUndefined()
    const c2 = proxyConfig({ HTTPS_PROXY: 'http://[bad', NO_PROXY: 'adobe.io' })
    expect(proxyFor(new URL('https://platform.adobe.io'), c2)).toBeUndefined()
    try {
      proxyFor(new URL('https://platform.adobe.io'), c)
    } catch (e) {
      expect(String(e)).not.toContain('pw')
    }
  })
})

describe('proxySecrets', () => {
  it('is empty without credentials', () => {
    expect(proxySecrets({})).toEqual([])
    expect(proxySecrets({ HTTPS_PROXY: 'http://proxy.corp:3128' })).toEqual([])
  })

  it('covers the value, the URL, user:password and the password, raw and decoded', () => {
    const s = proxySecrets({ https_proxy: 'http://svc:p%40ss%3Aw0rd@proxy.corp:3128' })
    expect(s).toEqual(
      expect.arrayContaining([
        'http://svc:p%40ss%3Aw0rd@proxy.corp:3128',
        'http://svc:p%40ss%3Aw0rd@proxy.corp:3128/',
        'p%40ss%3Aw0rd',
        'p@ss:w0rd',
        'svc:p%40ss%3Aw0rd',
        'svc:p@ss:w0rd'
      ])
    )
    // The user name alone is not a secret: messages may name it.
    expect(s).not.toContain('svc')
  })

  it('reads every proxy variable, and host:port forms', () => {
    const s = proxySecrets({ HTTP_PROXY: 'u:pw1@proxy.corp:3128', HTTPS_PROXY: 'http://u:pw2@p:1' })
    expect(s).toEqual(expect.arrayContaining(['pw1', 'u:pw1', 'pw2', 'u:pw2']))
  })

  it('masks a value it cannot read if it may hold credentials, and its likely user:password', () => {
    expect(proxySecrets({ HTTPS_PROXY: 'http://u:pw@[bad' })).toEqual([
      'http://u:pw@[bad',
      'u:pw',
      'pw'
    ])
    expect(proxySecrets({ HTTPS_PROXY: 'http://[bad' })).toEqual([])
  })

  it('masks a user name given alone: it is the credential', () => {
    expect(proxySecrets({ HTTPS_PROXY: 'http://t%40ken@proxy.corp:3128/corp' })).toEqual(
      expect.arrayContaining([
        't%40ken',
        't@ken',
        't%40ken:',
        't@ken:',
        'http://t%40ken@proxy.corp:3128/'
      ])
    )
  })
})

describe('describeRoutes', () => {
  it('says which hosts go through which proxy, without credentials', () => {
    const c = proxyConfig({
      HTTPS_PROXY: 'http://u:secret@proxy.corp:3128',
      NO_PROXY: 'ims-na1.adobelogin.com'
    })
    expect(
      describeRoutes(
        ['https://ims-na1.adobelogin.com', 'https://platform.adobe.io', 'http://127.0.0.1:3000'],
        c
      )
    ).toEqual([
      'ims-na1.adobelogin.com is reached directly (NO_PROXY)',
      'platform.adobe.io is reached through the proxy http://proxy.corp:3128 (HTTPS_PROXY)'
    ])
  })

  it('says nothing when no proxy is set', () => {
    expect(describeRoutes(['https://platform.adobe.io'], proxyConfig({}))).toEqual([])
  })
})
