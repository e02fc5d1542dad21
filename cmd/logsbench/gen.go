package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// span is how far back the dataset reaches.
const span = 90 * 24 * time.Hour

// entry is one generated log entry, the same on both sides.
type entry struct {
	id        [16]byte // a UUIDv7 of createdAt (the raw table's id; logsd makes its own)
	tenant    int
	level     string
	source    string
	message   string
	metadata  string // a JSON object
	createdAt time.Time
}

// dataset describes N entries that entry(i) makes on demand: nothing is
// kept in memory, and the same seed gives the same entries (times relative
// to end, the moment the run began).
type dataset struct {
	n       int
	tenants int
	seed    uint64
	end     time.Time
}

// tenantID is the id of tenant k: tenant 0 is the large one.
func tenantID(k int) string { return fmt.Sprintf("tenant-%03d", k) }

// Words the list measures search for: a common one and one that about one
// entry in 20,000 holds.
const (
	commonWord = "password"
	rareWord   = "quarantined"
)

var sources = []struct {
	name   string
	weight int
}{{"auth", 35}, {"idp", 15}, {"scim", 12}, {"admin", 10}, {"mfa", 10}, {"oauth", 8}, {"directory", 6}, {"audit", 4}}

var (
	infoMessages = []string{
		"User %[1]s signed in from %[2]s",
		"Session refreshed for %[1]s",
		"Access token issued to client %[3]s for %[1]s",
		"User %[1]s signed out",
		"SCIM user provisioned: %[1]s",
		"Group membership updated for %[1]s by %[4]s",
		"MFA challenge passed for %[1]s from %[2]s",
		"Profile of %[1]s updated by %[4]s",
		"Password changed by %[1]s",
		"Consent granted by %[1]s to client %[3]s",
	}
	warnMessages = []string{
		"Password reset requested for %[1]s from %[2]s",
		"Session expired for %[1]s",
		"Sign-in from a new device for %[1]s at %[2]s",
		"Rate limit approaching for client %[3]s",
		"MFA enrolment postponed by %[1]s",
	}
	errorMessages = []string{
		"Failed login attempt for %[1]s from %[2]s — invalid credentials",
		"Invalid password for %[1]s from %[2]s",
		"Token signature invalid for client %[3]s",
		"SCIM push to %[3]s failed: upstream timeout",
		"MFA code rejected for %[1]s from %[2]s",
	}
	rareMessage = "Account %[1]s " + rareWord + " after impossible travel from %[2]s"
	firstNames  = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin"}
	lastNames   = []string{"smith", "jones", "garcia", "miller", "davis", "martin", "lopez", "clark", "lewis", "walker", "young", "king", "wright", "hill", "scott", "green"}
	domains     = []string{"example.com", "acme.io", "corp.example.org", "mail.example.net"}
	agents      = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)", "okhttp/4.12.0", "curl/8.5.0", "Go-http-client/2.0"}
	clients     = []string{"web-console", "mobile-app", "hr-sync", "billing", "partner-portal", "cli"}
)

// tenantOf gives 40% of the entries to tenant 0 and spreads the rest over
// the others, some larger than others (tenant k weighs 1/k).
func (d *dataset) tenantOf(r *rand.Rand) int {
	if d.tenants == 1 || r.IntN(100) < 40 {
		return 0
	}
	return 1 + d.smallTenant(r.Float64())
}

// smallTenant maps u in [0,1) onto tenants 1..tenants-1 with weight 1/k.
func (d *dataset) smallTenant(u float64) int {
	var sum float64
	for k := 1; k < d.tenants; k++ {
		sum += 1 / float64(k)
	}
	x := u * sum
	for k := 1; k < d.tenants; k++ {
		x -= 1 / float64(k)
		if x < 0 {
			return k - 1
		}
	}
	return d.tenants - 2
}

// at is entry i's time: the entries run in order over the span, as a
// service writes them, with a second of jitter.
func (d *dataset) at(i int, r *rand.Rand) time.Time {
	start := d.end.Add(-span + time.Minute)
	step := float64(span-2*time.Minute) / float64(d.n)
	t := start.Add(time.Duration(float64(i)*step) + time.Duration(r.Int64N(int64(time.Second))))
	return t.Truncate(time.Microsecond)
}

// entry returns entry i (0 <= i < n).
func (d *dataset) entry(i int) entry {
	r := rand.New(rand.NewPCG(d.seed, uint64(i)))
	e := entry{tenant: d.tenantOf(r), createdAt: d.at(i, r)}
	var tmpl string
	switch p := r.IntN(100); {
	case p < 80:
		e.level, tmpl = "info", infoMessages[r.IntN(len(infoMessages))]
	case p < 95:
		e.level, tmpl = "warn", warnMessages[r.IntN(len(warnMessages))]
	default:
		e.level, tmpl = "error", errorMessages[r.IntN(len(errorMessages))]
	}
	if r.IntN(20_000) == 0 {
		e.level, tmpl = "warn", rareMessage
	}
	w := r.IntN(100)
	for _, s := range sources {
		if w -= s.weight; w < 0 {
			e.source = s.name
			break
		}
	}
	user := r.IntN(50_000)
	email := firstNames[user%len(firstNames)] + "." + lastNames[user/len(firstNames)%len(lastNames)] +
		strconv.Itoa(user/(len(firstNames)*len(lastNames))) + "@" + domains[user%len(domains)]
	ip := fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	client := clients[r.IntN(len(clients))]
	admin := "admin" + strconv.Itoa(r.IntN(20)) + "@" + domains[0]
	e.message = fmt.Sprintf(tmpl, email, ip, client, admin)
	e.metadata = fmt.Sprintf(`{"ip":%q,"userId":"usr_%07d","email":%q,"userAgent":%q,"requestId":"req_%016x"}`,
		ip, user, email, agents[r.IntN(len(agents))], r.Uint64())
	// UUIDv7: 48 bits of milliseconds, version, random bits, variant.
	binary.BigEndian.PutUint64(e.id[0:8], uint64(e.createdAt.UnixMilli())<<16|0x7000|r.Uint64()&0x0fff)
	binary.BigEndian.PutUint64(e.id[8:16], r.Uint64()&0x3fffffffffffffff|0x8000000000000000)
	return e
}
