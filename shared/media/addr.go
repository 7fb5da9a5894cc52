package media

import (
	"net/netip"
	"strings"
)

// class says how far an address may be trusted as a fetch target.
type class int

const (
	// public is a global unicast address: always allowed.
	public class = iota
	// private is not globally routable (loopback, RFC 1918, CGNAT, link-local,
	// unique-local, documentation ranges): allowed only with
	// Options.AllowPrivate, for local use and tests.
	private
	// never is refused even with AllowPrivate: cloud metadata endpoints,
	// unspecified, multicast, broadcast/reserved, IPv4-mapped and
	// IPv4-compatible IPv6 forms.
	never
)

func (c class) String() string {
	switch c {
	case public:
		return "public"
	case private:
		return "private"
	case never:
		return "never"
	}
	return "class(?)"
}

// metadataAddrs are the instance metadata / credential endpoints of the clouds
// the gateway runs on (and a few it might). Reaching one from a function leaks
// its credentials, so they are refused even when AllowPrivate is set.
var metadataAddrs = map[netip.Addr]string{
	netip.MustParseAddr("169.254.169.254"): "cloud metadata address", // GCE, EC2, Azure IMDS, OCI, DigitalOcean
	netip.MustParseAddr("169.254.170.2"):   "cloud metadata address", // ECS task credentials
	netip.MustParseAddr("169.254.170.23"):  "cloud metadata address", // EKS Pod Identity
	netip.MustParseAddr("100.100.100.200"): "cloud metadata address", // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"):   "cloud metadata address", // Azure WireServer (a public address)
	netip.MustParseAddr("fd00:ec2::254"):   "cloud metadata address", // EC2 IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"):    "cloud metadata address", // EKS Pod Identity over IPv6
}

// metadataHosts are names that resolve to a metadata server inside a cloud.
// They are refused by name before any DNS lookup; the address check would
// catch most of them too, but a VPC resolver may map them anywhere.
var metadataHosts = map[string]bool{
	"metadata":                   true, // GCE short name
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data":              true, // EC2
	"instance-data.ec2.internal": true,
}

type prefixRule struct {
	p      netip.Prefix
	c      class
	reason string
}

// v4Rules lists every IPv4 range that is not global unicast (IANA IPv4
// Special-Purpose Address Registry, RFC 6890). First match wins.
var v4Rules = []prefixRule{
	{netip.MustParsePrefix("0.0.0.0/8"), never, "unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), private, "private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), private, "shared (CGNAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), private, "loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), private, "link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), private, "private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), private, "reserved address"},
	{netip.MustParsePrefix("192.0.2.0/24"), private, "documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), private, "reserved address"},
	{netip.MustParsePrefix("192.168.0.0/16"), private, "private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), private, "benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), private, "documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), private, "documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), never, "multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), never, "reserved or broadcast address"},
}

var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052: last 32 bits are an IPv4 address
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215: local-use translation
	sixToFour      = netip.MustParsePrefix("2002::/16")      // RFC 3056: bits 16-48 are an IPv4 address
	v4Compatible   = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible form (also :: and ::1)
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	uniqueLocal    = netip.MustParsePrefix("fc00::/7")
	siteLocal      = netip.MustParsePrefix("fec0::/10")
	teredo         = netip.MustParsePrefix("2001::/32")
	documentation6 = netip.MustParsePrefix("2001:db8::/32")
)

// classify decides whether addr is a permissible fetch target and, if not,
// says why in words that do not repeat the address.
func classify(addr netip.Addr) (class, string) {
	addr = addr.WithZone("")
	if !addr.IsValid() {
		return never, "invalid address"
	}
	if reason, ok := metadataAddrs[addr]; ok {
		return never, reason
	}
	if addr.Is4In6() {
		// ::ffff:a.b.c.d reaches a.b.c.d on dual-stack sockets. Refused outright
		// rather than unmapped, so that no parser disagreement can matter.
		return never, "IPv4-mapped IPv6 address"
	}
	if addr.Is4() {
		for _, r := range v4Rules {
			if r.p.Contains(addr) {
				return r.c, r.reason
			}
		}
		return public, ""
	}

	// IPv6.
	switch {
	case addr.IsUnspecified():
		return never, "unspecified address"
	case addr.IsLoopback():
		return private, "loopback address"
	case addr.IsMulticast():
		return never, "multicast address"
	case v4Compatible.Contains(addr):
		return never, "IPv4-compatible IPv6 address"
	case nat64WellKnown.Contains(addr):
		// A NAT64 gateway would forward to the embedded IPv4 address: judge that.
		b := addr.As16()
		return embedded(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), "NAT64")
	case nat64Local.Contains(addr):
		return private, "local-use NAT64 address"
	case addr.IsLinkLocalUnicast():
		return private, "link-local address"
	case uniqueLocal.Contains(addr):
		return private, "unique-local address"
	case siteLocal.Contains(addr):
		return private, "site-local address"
	case !globalUnicast6.Contains(addr):
		return never, "reserved address"
	case sixToFour.Contains(addr):
		b := addr.As16()
		return embedded(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "6to4")
	case teredo.Contains(addr):
		// The embedded server/client addresses are obfuscated; a cloud function
		// has no business fetching through a Teredo relay.
		return never, "Teredo address"
	case documentation6.Contains(addr):
		return private, "documentation address"
	}
	return public, ""
}

// embedded judges an IPv4 address carried inside an IPv6 translation prefix.
func embedded(v4 netip.Addr, via string) (class, string) {
	c, reason := classify(v4)
	if c == public {
		return public, ""
	}
	return c, via + " address embedding a " + reason
}

// isMetadataHost reports whether host is a well-known metadata server name.
func isMetadataHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return metadataHosts[host]
}
