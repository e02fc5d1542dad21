package loghttp

import (
	"net/http"
	"slices"
	"time"

	"github.com/ithbat/logs"
)

// The permissions of the Logs API.
const (
	// PermRead allows the list, the stream and exports.
	PermRead = "log:read"
	// PermWrite allows ingest.
	PermWrite = "log:write"
	// PermAdmin allows a tenant's settings (its retention).
	PermAdmin = "log:admin"
)

// TenantHeader names the tenant a request acts on. It must be the tenant of
// the request's Principal.
const TenantHeader = "X-Tenant-ID"

// Principal is who a request acts for, as an Authenticator established it.
type Principal struct {
	Tenant      string    // the only tenant the principal may act on
	Subject     string    // who: a user or client id; may be empty
	Permissions []string  // such as PermRead, PermWrite
	Expires     time.Time // when the credential expires; zero if unknown
}

// Has reports whether p holds permission perm.
func (p Principal) Has(perm string) bool { return slices.Contains(p.Permissions, perm) }

// Authenticator establishes who sent a request, typically from its
// Authorization header. It is called once per request, concurrently.
//
// It returns an error wrapping logs.ErrUnauthenticated when the request
// carries no credential or a bad one (a *logs.Error tells the client why,
// such as "token expired"), logs.ErrUnavailable when it cannot decide now
// (a key server is down). It does not look at X-Tenant-ID or permissions:
// the Server does.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// refuseAll is the Authenticator of a Server configured with none.
var refuseAll = AuthenticatorFunc(func(*http.Request) (Principal, error) {
	return Principal{}, logs.NewError(logs.ErrUnauthenticated, "", "no authenticator is configured")
})

// authorize establishes the principal of r and checks that it may act on
// the tenant of X-Tenant-ID with permission perm, in the order the package
// documents. It returns the tenant.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, perm string) (Principal, string, error) {
	p, err := s.auth.Authenticate(r)
	if err != nil {
		return Principal{}, "", err
	}
	vals := r.Header.Values(TenantHeader)
	switch {
	case len(vals) == 0 || vals[0] == "":
		return p, "", logs.Invalid(TenantHeader, "header is required: the tenant the request acts on")
	case len(vals) > 1:
		return p, "", logs.Invalid(TenantHeader, "header is given more than once")
	}
	tenant := vals[0]
	if err := logs.ValidateTenant(TenantHeader, tenant); err != nil {
		return p, "", err
	}
	if p.Tenant == "" || tenant != p.Tenant {
		return p, "", logs.NewError(logs.ErrPermissionDenied, TenantHeader, "is not the tenant of the token")
	}
	if !p.Has(perm) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="logs", error="insufficient_scope", scope="`+quotable(perm)+`"`)
		return p, "", logs.NewError(logs.ErrPermissionDenied, "", "the token lacks the permission %s", perm)
	}
	return p, tenant, nil
}
