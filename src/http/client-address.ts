/**
 * The client address as Cloudflare's edge reports it (`CF-Connecting-IP`), only when it parses as
 * one IPv4 or IPv6 address: anything else (a list, markup) is not stored or used as a key.
 */
export function clientAddress(header: string | undefined): string | null {
  if (!header) return null
  const value = header.trim()
  if (IPV4.test(value)) return value
  if (value.includes(':') && value.length <= 45 && expandIpv6(value)) return value.toLowerCase()
  return null
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`)

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
export function expandIpv6(address: string): number[] | undefined {
  let text = address
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two groups.
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = text.slice(lastColon + 1)
    if (!IPV4.test(v4)) return undefined
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number]
    tail = [(a << 8) | b, (c << 8) | d]
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string) => (part === '' ? [] : part.split(':'))
  const head = parse(halves[0]!)
  const rest = halves.length === 2 ? parse(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest]
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined
  const numbers = groups.map((group) => parseInt(group, 16))
  if (tail.length) numbers.splice(6, 2, ...tail)
  return numbers
}

/**
 * The key a per-address limit counts under: an IPv4 address as itself, an IPv6 address by its
 * /64 prefix, since one host is routinely given a whole /64 and could otherwise rotate through it.
 */
export function rateLimitKey(address: string | null): string {
  if (!address) return 'unknown'
  const groups = address.includes(':') ? expandIpv6(address) : undefined
  if (!groups) return address
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`
}
