package loghttp

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logtree"
)

// The verifiable log's endpoints (log:read): the signing key, the
// checkpoints, proofs and verification. docs/verifiable-log.md tells what
// a client does with them.

var (
	checkpointParams  = []string{"limit", "before"}
	consistencyParams = []string{"from", "to"}
	proofParams       = []string{"id", "treeSize"}
)

// maxVerifyBody bounds the body of POST /api/v1/logs/verify.
const maxVerifyBody = 4 << 10

// maxVerifies bounds the verifications running at once in this server
// (one per tenant): each reads the tenant's whole tree.
const maxVerifies = 2

// verifying are the tenants whose verification runs now.
type verifying struct {
	mu      sync.Mutex
	tenants map[string]bool
}

func (v *verifying) start(tenant string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tenants == nil {
		v.tenants = map[string]bool{}
	}
	if v.tenants[tenant] || len(v.tenants) >= maxVerifies {
		return false
	}
	v.tenants[tenant] = true
	return true
}

func (v *verifying) done(tenant string) {
	v.mu.Lock()
	delete(v.tenants, tenant)
	v.mu.Unlock()
}

func (s *Server) tree() (*logtree.Log, error) {
	if s.opts.Tree == nil {
		return nil, logs.NewError(logs.ErrNotFound, "", "the verifiable log is not served here")
	}
	return s.opts.Tree, nil
}

// treeSize reads the query parameter name as a tree size from min: "" is 0
// unless required.
func treeSize(q url.Values, name string, min int64, required bool) (int64, error) {
	if len(q[name]) > 1 {
		return 0, logs.Invalid(name, "is given more than once")
	}
	v := q.Get(name)
	if v == "" {
		if required {
			return 0, logs.Invalid(name, "is required: a tree size from %d", min)
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min || strconv.FormatInt(n, 10) != v {
		return 0, logs.Invalid(name, "must be a tree size, a whole number from %d; got %q", min, clip(v, 24))
	}
	return n, nil
}

// keyResponse is the data of GET /api/v1/logs/checkpoints/key.
type keyResponse struct {
	Algorithm   string `json:"algorithm"`
	KeyName     string `json:"keyName"`
	VerifierKey string `json:"verifierKey"`
	PublicKey   string `json:"publicKey"`
	Origin      string `json:"origin"`
}

// checkpointKey serves GET /api/v1/logs/checkpoints/key: the public key
// that signs the checkpoints, as a note verifier key and raw (base64), and
// the origin line of the tenant's checkpoints.
func (s *Server) checkpointKey(w http.ResponseWriter, _ *http.Request, c *call) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	k := t.Key()
	writeData(w, http.StatusOK, keyResponse{Algorithm: "Ed25519", KeyName: k.Name(), VerifierKey: k.VerifierKey,
		PublicKey: base64.StdEncoding.EncodeToString(k.Public), Origin: logtree.Origin(k.Name(), c.Tenant)})
	return nil
}

// checkpointsResponse is the data of GET /api/v1/logs/checkpoints.
type checkpointsResponse struct {
	Latest      *logtree.Checkpoint  `json:"latest"`
	Checkpoints []logtree.Checkpoint `json:"checkpoints"`
	// NextBefore continues the list (before=), null at its end.
	NextBefore *int64 `json:"nextBefore"`
}

// listCheckpoints serves GET /api/v1/logs/checkpoints: the tenant's latest
// checkpoint and a page of them, largest first (limit, before=size).
func (s *Server) listCheckpoints(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	f, err := logquery.ParseValues(url.Values{"limit": c.Query["limit"]})
	if err != nil {
		return err
	}
	before, err := treeSize(c.Query, "before", 1, false)
	if err != nil {
		return err
	}
	cps, err := t.Checkpoints(r.Context(), c.Tenant, before, f.Limit+1)
	if err != nil {
		return err
	}
	res := checkpointsResponse{Checkpoints: cps}
	if len(cps) > f.Limit {
		res.Checkpoints = cps[:f.Limit]
		n := cps[f.Limit-1].TreeSize
		res.NextBefore = &n
	}
	latest, err := t.Checkpoints(r.Context(), c.Tenant, 0, 1)
	if err != nil {
		return err
	}
	if len(latest) == 1 {
		res.Latest = &latest[0]
	}
	writeData(w, http.StatusOK, res)
	return nil
}

// proof serves GET /api/v1/logs/proof?id=: the entry's leaf and its
// inclusion proof to the latest checkpoint (to the checkpoint of size
// treeSize, when given), with that checkpoint and the entry.
func (s *Server) proof(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	if len(c.Query["id"]) > 1 {
		return logs.Invalid("id", "is given more than once")
	}
	raw := c.Query.Get("id")
	if raw == "" {
		return logs.Invalid("id", "is required: the id of an entry")
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return logs.Invalid("id", "must be an entry id, a UUID such as 0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f")
	}
	size, err := treeSize(c.Query, "treeSize", 1, false)
	if err != nil {
		return err
	}
	p, err := t.Proof(r.Context(), c.Tenant, id.String(), size)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, p)
	return nil
}

// consistency serves GET /api/v1/logs/checkpoints/consistency?from=&to=:
// the proof that the tree of size from is a prefix of that of size to.
func (s *Server) consistency(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	from, err := treeSize(c.Query, "from", 1, true)
	if err != nil {
		return err
	}
	to, err := treeSize(c.Query, "to", 1, true)
	if err != nil {
		return err
	}
	p, err := t.Consistency(r.Context(), c.Tenant, from, to)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, p)
	return nil
}

// verify serves POST /api/v1/logs/verify: the tenant's tree recomputed
// from the database and checked against every signed checkpoint, the
// content of the entries created within startDate and endDate (optional)
// checked against their leaves. It answers 200 with the report, ok or the
// first failure; 429 while the tenant's verification (or too many) runs.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	if _, err := bodyType(r.Header, false); err != nil {
		return err
	}
	body, err := s.readBody(w, r, maxVerifyBody)
	if err != nil {
		return err
	}
	vals, err := parseStringObject(body, []string{"startDate", "endDate"}, true, `{"startDate":"2026-03-01T00:00:00Z"}`)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range vals {
		q.Set(k, v)
	}
	f, err := logquery.ParseValues(q)
	if err != nil {
		return err
	}
	if !s.verifies.start(c.Tenant) {
		w.Header().Set("Retry-After", "10")
		return logs.NewError(logs.ErrRateLimited, "", "a verification of this tenant, or too many, runs already; retry when it is done")
	}
	defer s.verifies.done(c.Tenant)
	rep, err := t.Verify(r.Context(), c.Tenant, logtree.VerifyOptions{Start: f.Start, End: f.End})
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, rep)
	return nil
}
