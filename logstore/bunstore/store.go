package bunstore

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

var (
	_ logstore.Store        = (*Store)(nil)
	_ logstore.RawScanner   = (*Store)(nil)
	_ logstore.ExportJobs   = (*Store)(nil)
	_ logstore.TicketLedger = (*Store)(nil)
	_ logstore.Consumers    = (*Store)(nil)
)

// Options configure a Store. A nil *Options means the defaults.
type Options struct {
	// Logger receives the store's own events (LISTEN reconnects, skipped
	// search index). Default: slog.Default().
	Logger *slog.Logger
	// AdminURL connects as the role that owns the schema (PostgreSQL):
	// Migrate and Purge use it, everything else the URL given to Open,
	// which may then be a role that can only insert and read entries
	// (see Migrate). Empty: the URL given to Open does both.
	AdminURL string
	// NoMigrate makes Open skip Migrate; the caller migrates, or checks
	// SchemaCurrent.
	NoMigrate bool
	// NoSearchIndex skips the trigram search index on PostgreSQL. The index
	// makes search fast on large tenants and costs ingest throughput.
	NoSearchIndex bool
	// OnError, when set, is told of each database error that is not the
	// caller's (code internal or unavailable), with the store operation
	// (for metrics). It must not block.
	OnError func(op string, code logs.ErrorCode)
	// ScanBatch is the number of rows Scan reads per query on SQLite
	// (keyset batches). PostgreSQL streams one query. Default 5000.
	ScanBatch int
	// Now is the clock used for missing createdAt values and the
	// retention. Default time.Now.
	Now func() time.Time
	// Retention is how long entries are kept when their tenant set
	// nothing (logstore.Settings); 0 keeps them forever. MaxRetention is
	// the longest a tenant may set: 0 means Retention (no limit when that
	// is 0 too), negative no limit.
	Retention, MaxRetention time.Duration
}

// Store is a logstore.Store on a bun database.
type Store struct {
	db     *bun.DB // the serving connection
	admin  *bun.DB // the owner's connection: db unless Options.AdminURL
	pg     bool
	log    *slog.Logger
	opts   Options
	closed chan struct{}

	parts sync.Map // PostgreSQL partitions known to exist: "p202611" -> true
	keys  sync.Map // tenant id -> its key in log_tenants (int64)
	// wmFloor is the highest watermark this store returned (watermark).
	wmFloor atomic.Uint64
	names   sync.Map // key -> tenant id

	mu        sync.Mutex
	watchers  map[chan struct{}]struct{}
	listenOn  bool
	appends   chan *pending // to the committer (append.go)
	notifyReq chan struct{} // to the notifier
	// ticketSweep is when SpendTicket next deletes expired tickets.
	ticketSweep time.Time
	wg          sync.WaitGroup
	cancel      context.CancelFunc
	bg          context.Context
}

// Open connects to url, runs the migrations (unless Options.NoMigrate),
// and returns the Store.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	db, err := openDB(url)
	if err != nil {
		return nil, err
	}
	s := New(db, opts)
	if s.opts.AdminURL != "" && s.opts.AdminURL != url {
		if s.admin, err = openDB(s.opts.AdminURL); err != nil {
			_ = db.Close()
			return nil, err
		}
		if isPG(s.admin) != s.pg {
			_ = s.Close()
			return nil, fmt.Errorf("bunstore: open: %w: the admin URL names another kind of database", logs.ErrInvalid)
		}
		s.admin.SetMaxOpenConns(4)
	}
	if err := s.ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if !s.opts.NoMigrate {
		if err := s.Migrate(ctx); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

// openDB opens the database of a URL: postgres:// or postgresql:// through
// pgx, sqlite:// through sqliteshim.
func openDB(url string) (*bun.DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("bunstore: open: %w: %w", logs.ErrInvalid, err)
		}
		// No JIT unless the URL asks for it: the total's part beyond the
		// rollups' checkpoint is estimated at a third of the tenant (the
		// planner cannot see the checkpoint), which on a 2M-entry tenant
		// passes jit_above_cost, and compiling then took 370 ms of a list
		// request whose statements read a few index pages (logsbench).
		if _, set := cfg.RuntimeParams["jit"]; !set {
			cfg.RuntimeParams["jit"] = "off"
		}
		sqldb := stdlib.OpenDB(*cfg)
		sqldb.SetMaxOpenConns(32)
		sqldb.SetMaxIdleConns(16)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		return bun.NewDB(sqldb, pgdialect.New()), nil
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("bunstore: open %q: %w: no file path", url, logs.ErrInvalid)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("bunstore: open: %w: %w", logs.ErrUnavailable, err)
		}
		dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
		sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
		if err != nil {
			return nil, fmt.Errorf("bunstore: open: %w: %w", logs.ErrInvalid, err)
		}
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
		return bun.NewDB(sqldb, sqlitedialect.New()), nil
	}
	return nil, fmt.Errorf("bunstore: open: %w: database URL must start with postgres://, postgresql:// or sqlite://", logs.ErrInvalid)
}

// New wraps an open bun database (PostgreSQL through pgx, or SQLite). It
// does not migrate; call Migrate. Options.AdminURL is not used: db serves
// and migrates. Close closes db.
func New(db *bun.DB, opts *Options) *Store {
	s := &Store{db: db, admin: db, closed: make(chan struct{}), watchers: map[chan struct{}]struct{}{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.Default()
	}
	if s.opts.ScanBatch <= 0 {
		s.opts.ScanBatch = 5000
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	s.log = s.opts.Logger
	s.pg = isPG(db)
	s.bg, s.cancel = context.WithCancel(context.Background())
	s.appends = make(chan *pending)
	s.notifyReq = make(chan struct{}, 1)
	committers := 1 // SQLite writes one transaction at a time
	if s.pg {
		committers = pgCommitters
	}
	s.wg.Add(1 + committers)
	for range committers {
		go s.committer()
	}
	go s.notifier()
	return s
}

// DB returns the serving database, for tests and tools that inspect it.
// The service's own packages use the store's interfaces, never SQL.
func (s *Store) DB() *bun.DB { return s.db }

// Dialect returns "pg" or "sqlite".
func (s *Store) Dialect() string {
	if s.pg {
		return "pg"
	}
	return "sqlite"
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.ping(ctx) }

func (s *Store) ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.wrap("ping", err)
	}
	if s.admin != s.db {
		if err := s.admin.PingContext(ctx); err != nil {
			return s.wrap("ping admin", err)
		}
	}
	return nil
}

// Close stops the LISTEN goroutine, closes every Watch channel and the
// database.
func (s *Store) Close() error {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return nil
	default:
	}
	close(s.closed)
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
	err := s.db.Close()
	if s.admin != s.db {
		err = errors.Join(err, s.admin.Close())
	}
	return err
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// startMicro is an inclusive start as the stores' microseconds: rounded
// up, since an entry (microseconds) before a finer start is before it (a
// bound is truncated when it is sent). An end needs no rounding: truncated,
// it keeps what it keeps.
func startMicro(t time.Time) time.Time {
	if c := t.Truncate(time.Microsecond); c.Before(t) {
		return c.Add(time.Microsecond)
	}
	return t
}

// timeArg is a created_at value as the dialect stores it: timestamptz on
// PostgreSQL, integer microseconds since the epoch on SQLite.
func (s *Store) timeArg(t time.Time) any {
	if s.pg {
		return t.UTC()
	}
	return t.UnixMicro()
}

// --- Reading -------------------------------------------------------------

// cols are the columns scanEntry reads.
func (s *Store) cols() string {
	if s.pg {
		return "id::text, tenant, created_at, level, source, message, metadata::text"
	}
	return "id, tenant, created_at, level, source, message, metadata"
}

// where renders the conditions of f (and snap) for the tenant of key.
func (s *Store) where(key int64, f logquery.Filter, snap logstore.Snapshot) (string, []any, error) {
	conds := []string{"tenant = ?"}
	args := []any{key}
	if f.Level != "" {
		conds = append(conds, "level = ?")
		args = append(args, levelCodes[f.Level])
	}
	if f.Source != "" {
		conds = append(conds, "source = ?")
		args = append(args, f.Source)
	}
	if !f.Start.IsZero() {
		conds = append(conds, "created_at >= ?")
		args = append(args, s.timeArg(startMicro(f.Start)))
	}
	if !f.End.IsZero() {
		conds = append(conds, "created_at <= ?")
		args = append(args, s.timeArg(f.End))
	}
	for _, t := range logquery.Terms(f.Search) {
		if s.pg {
			conds = append(conds, s.foldExpr()+` LIKE ? ESCAPE '\'`)
			args = append(args, "%"+escapeLike(t)+"%")
		} else {
			conds = append(conds, "instr("+s.foldExpr()+", ?) > 0")
			args = append(args, t)
		}
	}
	if snap != "" {
		c, a, err := s.snapshotCond(snap)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, c)
		args = append(args, a)
	}
	return strings.Join(conds, " AND "), args, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Count implements logstore.Store.
func (s *Store) Count(ctx context.Context, tenant string, f logquery.Filter, snap logstore.Snapshot) (int64, error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("bunstore: count: %w", err)
	}
	f, none, err := s.retained(ctx, s.db, tenant, f)
	if err != nil || none {
		return 0, err
	}
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil || !ok {
		return 0, err
	}
	where, args, err := s.where(key, f, snap)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM log_entries WHERE "+where, args...).Scan(&n); err != nil {
		return 0, s.wrap("count", err)
	}
	return n, nil
}

// Scan implements logstore.Store with keyset batches on (created_at, id).
func (s *Store) Scan(ctx context.Context, tenant string, f logquery.Filter, snap logstore.Snapshot) iter.Seq2[logs.Entry, error] {
	return func(yield func(logs.Entry, error) bool) {
		for r, err := range s.ScanRaw(ctx, tenant, f, snap) {
			if err == nil {
				r.Entry.Metadata, err = decodeMetadata(r.Entry.ID, r.Metadata)
				if err != nil {
					err = s.wrap("scan", err)
				}
			}
			if !yield(r.Entry, err) || err != nil {
				return
			}
		}
	}
}

// ScanRaw implements logstore.RawScanner: Scan without decoding the
// metadata, for writers that copy it out as JSON (export).
func (s *Store) ScanRaw(ctx context.Context, tenant string, f logquery.Filter, snap logstore.Snapshot) iter.Seq2[logstore.RawEntry, error] {
	return func(yield func(logstore.RawEntry, error) bool) {
		if err := f.Validate(); err != nil {
			yield(logstore.RawEntry{}, fmt.Errorf("bunstore: scan: %w", err))
			return
		}
		f, none, err := s.retained(ctx, s.db, tenant, f)
		if err != nil {
			yield(logstore.RawEntry{}, err)
			return
		}
		if none {
			return
		}
		key, ok, err := s.tenantKey(ctx, s.db, tenant)
		if err != nil {
			yield(logstore.RawEntry{}, err)
			return
		}
		if !ok {
			return
		}
		where, args, err := s.where(key, f, snap)
		if err != nil {
			yield(logstore.RawEntry{}, err)
			return
		}
		if s.pg {
			q := "SELECT " + s.cols() + " FROM log_entries WHERE " + where +
				" ORDER BY log_entries.created_at DESC, log_entries.id DESC"
			if err := s.streamPgx(ctx, q, args, yield); err != nil {
				yield(logstore.RawEntry{}, s.wrap("scan", err))
			}
			return
		}
		var last *logs.Entry
		for {
			q := "SELECT " + s.cols() + " FROM log_entries WHERE " + where
			a := append([]any(nil), args...)
			if last != nil {
				q += " AND (created_at, id) < (?, ?)"
				a = append(a, s.timeArg(last.CreatedAt), last.ID)
			}
			q += " ORDER BY log_entries.created_at DESC, log_entries.id DESC LIMIT ?"
			a = append(a, s.opts.ScanBatch)
			batch, err := s.queryRaw(ctx, s.db, q, a...)
			if err != nil {
				yield(logstore.RawEntry{}, s.wrap("scan", err))
				return
			}
			for _, r := range batch {
				if !yield(r, nil) {
					return
				}
			}
			if len(batch) < s.opts.ScanBatch {
				return
			}
			last = &batch[len(batch)-1].Entry
		}
	}
}

func (s *Store) queryEntries(ctx context.Context, db bun.IDB, q string, args ...any) ([]logs.Entry, error) {
	raw, err := s.queryRaw(ctx, db, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]logs.Entry, len(raw))
	for i, r := range raw {
		out[i] = r.Entry
		if out[i].Metadata, err = decodeMetadata(r.Entry.ID, r.Metadata); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) queryRaw(ctx context.Context, db bun.IDB, q string, args ...any) ([]logstore.RawEntry, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []logstore.RawEntry{}
	for rows.Next() {
		r, err := s.scanEntry(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func (s *Store) scanEntry(ctx context.Context, r scanner, extra ...any) (logstore.RawEntry, error) {
	var e logs.Entry
	var level int
	var key int64
	var md []byte
	var created any
	if s.pg {
		created = new(time.Time)
	} else {
		created = new(int64)
	}
	dest := append(extra, &e.ID, &key, created, &level, &e.Source, &e.Message, &md)
	if err := r.Scan(dest...); err != nil {
		return logstore.RawEntry{}, err
	}
	var err error
	if e.Level, err = levelName(level); err != nil {
		return logstore.RawEntry{}, err
	}
	if e.TenantID, err = s.tenantName(ctx, s.db, key); err != nil {
		return logstore.RawEntry{}, err
	}
	if s.pg {
		e.CreatedAt = created.(*time.Time).UTC()
	} else {
		e.CreatedAt = time.UnixMicro(*created.(*int64)).UTC()
	}
	if len(md) == 0 {
		md = []byte("{}")
	}
	return logstore.RawEntry{Entry: e, Metadata: md}, nil
}

// decodeMetadata decodes a stored metadata object; numbers keep their
// exact digits (json.Number).
func decodeMetadata(id string, md []byte) (map[string]any, error) {
	out := map[string]any{}
	if len(md) == 0 || string(md) == "{}" {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(md))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", id, err)
	}
	return out, nil
}

// --- Snapshots and cursors ----------------------------------------------

var pgSnapshotRE = regexp.MustCompile(`^[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?$`)

// Snapshot implements logstore.Store. On PostgreSQL it is "pg:" and
// pg_current_snapshot(); on SQLite "sqlite:" and the last row id.
func (s *Store) Snapshot(ctx context.Context) (logstore.Snapshot, error) {
	var v string
	q := "SELECT pg_current_snapshot()::text"
	if !s.pg {
		q = "SELECT CAST(coalesce(max(seq), 0) AS TEXT) FROM log_entries"
	}
	if err := s.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return "", s.wrap("snapshot", err)
	}
	return logstore.Snapshot(s.Dialect() + ":" + v), nil
}

func (s *Store) snapshotCond(snap logstore.Snapshot) (string, any, error) {
	v, ok := strings.CutPrefix(string(snap), s.Dialect()+":")
	bad := fmt.Errorf("bunstore: snapshot %.40q: %w", snap, logs.ErrInvalid)
	if !ok {
		return "", nil, bad
	}
	if s.pg {
		if len(v) > 1<<16 || !pgSnapshotRE.MatchString(v) {
			return "", nil, bad
		}
		return "pg_visible_in_snapshot(xid, CAST(? AS pg_snapshot))", v, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return "", nil, bad
	}
	return "seq <= ?", n, nil
}

// watermark returns the visibility watermark of PostgreSQL cursors (see
// pgWatermark), never lower than one this store returned before. The
// database's own can dip: a transaction of another database that ends
// between the snapshot and the look at pg_stat_activity counts as ours
// for that one statement. A watermark once valid stays valid (every
// transaction of this database below it had ended, and new ones are
// above), and the stream's hand-over from a subscription's own reads to
// the live feed relies on a later read seeing at least the watermark of an
// earlier one (logstream's doc).
func (s *Store) watermark(ctx context.Context) (uint64, error) {
	var x string
	if err := s.db.QueryRowContext(ctx, "SELECT log_entries_watermark()::text").Scan(&x); err != nil {
		return 0, s.wrap("watermark", err)
	}
	w, err := strconv.ParseUint(x, 10, 64)
	if err != nil {
		return 0, s.wrap("watermark", err)
	}
	for {
		floor := s.wmFloor.Load()
		if w <= floor {
			return floor, nil
		}
		if s.wmFloor.CompareAndSwap(floor, w) {
			return w, nil
		}
	}
}

// Head implements logstore.Store.
func (s *Store) Head(ctx context.Context) (logstore.Cursor, error) {
	if s.pg {
		w, err := s.watermark(ctx)
		if err != nil {
			return logstore.Cursor{}, err
		}
		return logstore.Cursor{Epoch: w}, nil
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM log_entries").Scan(&n); err != nil {
		return logstore.Cursor{}, s.wrap("head", err)
	}
	return logstore.Cursor{Seq: n}, nil
}

// After implements logstore.Store.
func (s *Store) After(ctx context.Context, tenant string, after logstore.Cursor, limit int) ([]logstore.Record, error) {
	if limit <= 0 {
		limit = 1000
	}
	var q string
	var args []any
	if s.pg {
		// The watermark first, in a statement of its own: every entry below
		// it is committed, so the read that follows sees them all.
		w, err := s.watermark(ctx)
		if err != nil {
			return nil, err
		}
		q = "SELECT xid::text, seq, " + s.cols() + " FROM log_entries WHERE (xid, seq) > (CAST(? AS xid8), ?) AND xid < CAST(? AS xid8)"
		args = []any{strconv.FormatUint(after.Epoch, 10), after.Seq, strconv.FormatUint(w, 10)}
	} else {
		q = "SELECT '0', seq, " + s.cols() + " FROM log_entries WHERE seq > ?"
		args = []any{after.Seq}
	}
	if tenant != "" {
		// A tenant's reader (a stream catching up, a log stream) gets
		// nothing its retention no longer keeps.
		c, err := s.cutoff(ctx, s.db, tenant)
		if err != nil {
			return nil, err
		}
		key, ok, err := s.tenantKey(ctx, s.db, tenant)
		if err != nil || !ok {
			return nil, err
		}
		q += " AND tenant = ?"
		args = append(args, key)
		if !c.IsZero() {
			q += " AND created_at >= ?"
			args = append(args, s.timeArg(c))
		}
	}
	if s.pg {
		// Qualified: a bare xid would name the output column xid::text,
		// which ORDER BY prefers, and sort the ids as text ("10000"
		// before "9999": TestPostgresCursorOrderAcrossDigits) with no use
		// of the (xid, seq) index.
		q += " ORDER BY log_entries.xid, log_entries.seq LIMIT ?"
	} else {
		q += " ORDER BY seq LIMIT ?"
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("after", err)
	}
	defer rows.Close()
	var out []logstore.Record
	for rows.Next() {
		var r logstore.Record
		var epoch string
		raw, err := s.scanEntry(ctx, rows, &epoch, &r.Cursor.Seq)
		if err != nil {
			return nil, s.wrap("after", err)
		}
		e := raw.Entry
		if e.Metadata, err = decodeMetadata(e.ID, raw.Metadata); err != nil {
			return nil, s.wrap("after", err)
		}
		if r.Cursor.Epoch, err = strconv.ParseUint(epoch, 10, 64); err != nil {
			return nil, s.wrap("after", err)
		}
		r.Entry = e
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("after", err)
	}
	return out, nil
}

// streamPgx runs a query of queryRaw's shape on a pgx connection, with
// real parameters ($1, $2, ...) and binary results, and yields its rows as
// they arrive: PostgreSQL produces the next rows while the consumer works
// on these, and memory holds one row at a time. It returns the query's
// error; it returns nil, and abandons the connection, when yield stops.
func (s *Store) streamPgx(ctx context.Context, q string, args []any, yield func(logstore.RawEntry, error) bool) error {
	var b strings.Builder
	n := 0
	for _, part := range strings.Split(q, "?") {
		if n > 0 {
			fmt.Fprintf(&b, "$%d", n)
		}
		b.WriteString(part)
		n++
	}
	if n-1 != len(args) {
		return fmt.Errorf("bunstore: %d placeholders for %d arguments", n-1, len(args))
	}
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := s.db.DB.Conn(qctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stopped := false
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bunstore: the pgx driver is required, have %T", dc)
		}
		// QueryExecModeExec: parameters without a prepared statement, so
		// the plan is made for these values (a generic plan can sort).
		rows, err := c.Conn().Query(qctx, b.String(), append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := s.scanEntry(ctx, rows)
			if err != nil {
				return err
			}
			if !yield(r, nil) {
				// Stop the query rather than read the rest; the connection
				// is then unusable and must not go back to the pool.
				stopped = true
				cancel()
				return driver.ErrBadConn
			}
		}
		return rows.Err()
	})
	if stopped {
		return nil
	}
	return err
}
