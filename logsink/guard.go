package logsink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Guard refuses outbound requests to addresses the operator did not allow:
// loopback, private, link-local (the cloud metadata services among them),
// shared (CGNAT), multicast, unspecified and reserved addresses, also
// inside IPv6 forms that carry an IPv4 address. It checks the addresses a
// name resolves to when a stream is created, and the address every
// connection actually goes to (after DNS resolution, on every redirect),
// so a name that resolves differently later (DNS rebinding) is refused
// too.
type Guard struct {
	// AllowPrivate lets requests go to every address, and plain http
	// (LOGSD_LOG_STREAMS_ALLOW_PRIVATE; receivers on loopback in tests).
	AllowPrivate bool
	// Allow lists addresses that are allowed although they are not public
	// (an operator's own receivers on a private network).
	Allow []netip.Prefix
	// AllowHTTP lets destinations use plain http:// (implied by
	// AllowPrivate).
	AllowHTTP bool
	// Resolver resolves names at creation (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// ErrRefused is wrapped by the errors of a refused address.
var ErrRefused = errors.New("logsink: address refused")

// blocked are the prefixes that are neither loopback, private, link-local,
// multicast nor unspecified (netip knows those) and still not public.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: an IPv4 address inside
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: an IPv4 address inside
	netip.MustParsePrefix("2001::/32"),       // Teredo: an IPv4 address inside
	netip.MustParsePrefix("100::/64"),        // discard
}

// CheckAddr returns an error wrapping ErrRefused when a is not a public
// unicast address (and the guard does not allow private ones).
func (g *Guard) CheckAddr(a netip.Addr) error {
	if g.AllowPrivate {
		return nil
	}
	a = a.Unmap().WithZone("")
	for _, p := range g.Allow {
		if p.Contains(a) {
			return nil
		}
	}
	why := ""
	switch {
	case !a.IsValid():
		why = "not an address"
	case a.IsLoopback():
		why = "a loopback address"
	case a.IsPrivate():
		why = "a private address"
	case a.IsLinkLocalUnicast():
		why = "a link-local address (such as a cloud metadata service)"
	case a.IsUnspecified():
		why = "the unspecified address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		why = "a multicast address"
	}
	for _, p := range blocked {
		if why == "" && p.Contains(a) {
			why = "a reserved or special-purpose address"
		}
	}
	if why != "" {
		return fmt.Errorf("%w: %s is %s; the operator allows only public addresses", ErrRefused, a, why)
	}
	return nil
}

// CheckURL checks a destination URL before it is stored: scheme https
// (http only when private addresses are allowed), a host, no user
// information, and every address the host resolves to allowed. The error
// is for the client.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	switch {
	case u.Scheme == "http" && g.httpOK():
	case u.Scheme != "https":
		return errors.New("must be an https:// URL")
	}
	if u.User != nil {
		return errors.New("must not hold a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("must name a host")
	}
	if u.Port() != "" {
		if p, err := netip.ParseAddrPort("0.0.0.0:" + u.Port()); err != nil || p.Port() == 0 {
			return errors.New("has an invalid port")
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return g.CheckAddr(a)
	}
	if g.AllowPrivate {
		return nil
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") || strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
		return fmt.Errorf("%w: %s is a loopback name", ErrRefused, host)
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(rctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("the host %s cannot be resolved", host)
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return fmt.Errorf("the host %s resolves to a refused address: %w", host, err)
		}
	}
	return nil
}

func (g *Guard) httpOK() bool { return g.AllowPrivate || g.AllowHTTP }

// control is the net.Dialer Control of the guarded transport: it runs
// with the address a connection is about to go to, after resolution.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	return g.CheckAddr(ap.Addr())
}

// Dialer returns a dialer that refuses what the guard refuses.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.control}
}
