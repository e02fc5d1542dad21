package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

var _ logstore.Trees = (*Store)(nil)

// The verifiable log (logstore.Trees) lives in three tables:
//
//   - log_tree_leaves: one row per leaf (tenant key, leaf index), with the
//     entry's id, createdAt and digest and the tlog stored hashes the leaf
//     completes, concatenated (32 bytes each). One row per entry keeps the
//     table near 130 bytes an entry; a stored-hash index maps to its row
//     and place (treeHashPlace).
//   - log_tree_checkpoints: the signed checkpoints, by tenant and size.
//   - log_tree_heads: per tenant the tree's size, its latest checkpoint and
//     how far checkpoints were copied to the bucket: bookkeeping that the
//     consumer updates and that verification never trusts.
//
// Leaves and checkpoints are evidence: the serving role may only insert
// them (servingGrants), and the immutability trigger of the log table
// refuses UPDATE, DELETE and TRUNCATE on them for every role.

// treeHashPlace returns the leaf whose row keeps the stored hash of index,
// and its place among the row's hashes.
func treeHashPlace(index int64) (leaf int64, place int) {
	level, n := tlog.SplitStoredHashIndex(index)
	return (n+1)<<level - 1, level
}

// TreeHead implements logstore.Trees.
func (s *Store) TreeHead(ctx context.Context, tenant string) (logstore.TreeHead, error) {
	h := logstore.TreeHead{Tenant: tenant}
	var at int64
	err := s.db.QueryRowContext(ctx, "SELECT size, checkpoint_size, checkpoint_at, published_size FROM log_tree_heads WHERE tenant_id = ?",
		tenant).Scan(&h.Size, &h.CheckpointSize, &at, &h.PublishedSize)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil
	}
	if err != nil {
		return h, s.wrap("tree head", err)
	}
	h.CheckpointAt = fromUS(at)
	return h, nil
}

// TreeHashes implements logstore.Trees.
func (s *Store) TreeHashes(ctx context.Context, tenant string, indexes []int64) ([][32]byte, error) {
	out := make([][32]byte, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("bunstore: tree hashes: tenant %q has no tree: %w", tenant, logs.ErrNotFound)
	}
	leaves := make([]int64, 0, len(indexes))
	seen := map[int64]bool{}
	for _, idx := range indexes {
		if idx < 0 {
			return nil, fmt.Errorf("bunstore: tree hashes: index %d: %w", idx, logs.ErrInvalid)
		}
		l, _ := treeHashPlace(idx)
		if !seen[l] {
			seen[l] = true
			leaves = append(leaves, l)
		}
	}
	rows := map[int64][]byte{}
	for len(leaves) > 0 {
		chunk := leaves[:min(len(leaves), 1000)]
		leaves = leaves[len(chunk):]
		r, err := s.db.QueryContext(ctx, "SELECT leaf, hashes FROM log_tree_leaves WHERE tenant = ? AND leaf IN (?)", key, bun.In(chunk))
		if err != nil {
			return nil, s.wrap("tree hashes", err)
		}
		for r.Next() {
			var l int64
			var hs []byte
			if err := r.Scan(&l, &hs); err != nil {
				r.Close()
				return nil, s.wrap("tree hashes", err)
			}
			rows[l] = hs
		}
		err = r.Err()
		r.Close()
		if err != nil {
			return nil, s.wrap("tree hashes", err)
		}
	}
	for i, idx := range indexes {
		l, p := treeHashPlace(idx)
		hs, ok := rows[l]
		if !ok || len(hs) < 32*(p+1) {
			return nil, fmt.Errorf("bunstore: tree hashes: tenant %q has no stored hash %d: %w", tenant, idx, logs.ErrNotFound)
		}
		copy(out[i][:], hs[32*p:])
	}
	return out, nil
}

func (s *Store) leafColumns() string {
	if s.pg {
		return "leaf, id::text, created_at, digest, hashes"
	}
	return "leaf, id, created_at, digest, hashes"
}

func scanLeaf(r scanner) (logstore.TreeLeaf, error) {
	var l logstore.TreeLeaf
	var at int64
	var hs, digest []byte
	if err := r.Scan(&l.Index, &l.ID, &at, &digest, &hs); err != nil {
		return l, err
	}
	l.CreatedAt = fromUS(at)
	copy(l.Digest[:], digest)
	if len(hs) == 0 || len(hs)%32 != 0 {
		// A row changed by hand: the verifier reports the leaf.
		hs = append(hs, make([]byte, 32-len(hs)%32)...)
	}
	l.Hashes = make([][32]byte, len(hs)/32)
	for i := range l.Hashes {
		copy(l.Hashes[i][:], hs[32*i:])
	}
	return l, nil
}

// TreeLeaves implements logstore.Trees.
func (s *Store) TreeLeaves(ctx context.Context, tenant string, from int64, limit int) ([]logstore.TreeLeaf, error) {
	if limit <= 0 {
		limit = 1000
	}
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+s.leafColumns()+" FROM log_tree_leaves WHERE tenant = ? AND leaf >= ? ORDER BY leaf LIMIT ?",
		key, from, limit)
	if err != nil {
		return nil, s.wrap("tree leaves", err)
	}
	defer rows.Close()
	var out []logstore.TreeLeaf
	for rows.Next() {
		l, err := scanLeaf(rows)
		if err != nil {
			return nil, s.wrap("tree leaves", err)
		}
		out = append(out, l)
	}
	return out, s.wrap("tree leaves", rows.Err())
}

// TreeLeafByID implements logstore.Trees.
func (s *Store) TreeLeafByID(ctx context.Context, tenant, id string) (logstore.TreeLeaf, error) {
	notFound := fmt.Errorf("bunstore: tree leaf: tenant %q has no leaf of entry %.40q: %w", tenant, id, logs.ErrNotFound)
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil {
		return logstore.TreeLeaf{}, err
	}
	if !ok || !validUUID(id) {
		return logstore.TreeLeaf{}, notFound
	}
	row := s.db.QueryRowContext(ctx, "SELECT "+s.leafColumns()+" FROM log_tree_leaves WHERE tenant = ? AND id = ? ORDER BY leaf LIMIT 1", key, id)
	l, err := scanLeaf(row)
	if errors.Is(err, sql.ErrNoRows) {
		return l, notFound
	}
	return l, s.wrap("tree leaf", err)
}

// validUUID reports whether id is a UUID in the canonical form the store
// keeps (PostgreSQL's uuid column refuses anything else).
func validUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		default:
			return false
		}
	}
	return true
}

type checkpointRow struct {
	Tenant    string `bun:"tenant_id"`
	Size      int64  `bun:"size"`
	Root      []byte `bun:"root"`
	CreatedAt int64  `bun:"created_at"`
	Note      string `bun:"note"`
}

func (r *checkpointRow) checkpoint() logstore.TreeCheckpoint {
	c := logstore.TreeCheckpoint{Tenant: r.Tenant, Size: r.Size, Time: fromUS(r.CreatedAt), Note: []byte(r.Note)}
	copy(c.Root[:], r.Root)
	return c
}

const checkpointColumns = "tenant_id, size, root, created_at, note"

// TreeCheckpoints implements logstore.Trees.
func (s *Store) TreeCheckpoints(ctx context.Context, tenant string, before int64, limit int) ([]logstore.TreeCheckpoint, error) {
	if limit <= 0 {
		limit = 100
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	var rows []checkpointRow
	err := s.db.NewRaw("SELECT "+checkpointColumns+" FROM log_tree_checkpoints WHERE tenant_id = ? AND size < ? ORDER BY size DESC LIMIT ?",
		tenant, before, limit).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("tree checkpoints", err)
	}
	out := make([]logstore.TreeCheckpoint, len(rows))
	for i := range rows {
		out[i] = rows[i].checkpoint()
	}
	return out, nil
}

// TreeCheckpoint implements logstore.Trees.
func (s *Store) TreeCheckpoint(ctx context.Context, tenant string, size int64) (logstore.TreeCheckpoint, error) {
	var r checkpointRow
	err := s.db.NewRaw("SELECT "+checkpointColumns+" FROM log_tree_checkpoints WHERE tenant_id = ? AND size = ?", tenant, size).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return logstore.TreeCheckpoint{}, fmt.Errorf("bunstore: tree checkpoint: tenant %q has no checkpoint of size %d: %w", tenant, size, logs.ErrNotFound)
	}
	if err != nil {
		return logstore.TreeCheckpoint{}, s.wrap("tree checkpoint", err)
	}
	return r.checkpoint(), nil
}

// DueTreeHeads implements logstore.Trees.
func (s *Store) DueTreeHeads(ctx context.Context, grown int64, stale time.Time, limit int) ([]logstore.TreeHead, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id, size, checkpoint_size, checkpoint_at, published_size FROM log_tree_heads
		WHERE (size > checkpoint_size AND (size - checkpoint_size >= ? OR checkpoint_at <= ?)) OR published_size < checkpoint_size
		ORDER BY tenant_id LIMIT ?`, grown, us(stale), limit)
	if err != nil {
		return nil, s.wrap("due tree heads", err)
	}
	defer rows.Close()
	var out []logstore.TreeHead
	for rows.Next() {
		var h logstore.TreeHead
		var at int64
		if err := rows.Scan(&h.Tenant, &h.Size, &h.CheckpointSize, &at, &h.PublishedSize); err != nil {
			return nil, s.wrap("due tree heads", err)
		}
		h.CheckpointAt = fromUS(at)
		out = append(out, h)
	}
	return out, s.wrap("due tree heads", rows.Err())
}

// SetTreePublished implements logstore.Trees.
func (s *Store) SetTreePublished(ctx context.Context, tenant string, size int64) error {
	_, err := s.db.ExecContext(ctx, "UPDATE log_tree_heads SET published_size = ? WHERE tenant_id = ? AND published_size < ?", size, tenant, size)
	return s.wrap("tree published", err)
}

// TreeEntries implements logstore.Trees.
func (s *Store) TreeEntries(ctx context.Context, tenant string, ids []string) (map[string]logs.Entry, error) {
	out := map[string]logs.Entry{}
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil || !ok {
		return out, err
	}
	es := make([]logs.Entry, 0, len(ids))
	for _, id := range ids {
		if validUUID(id) {
			es = append(es, logs.Entry{ID: id})
		}
	}
	raw := map[idKey]logstore.RawEntry{}
	if err := s.storedByID(ctx, s.db, tenantRef{id: tenant, key: key}, es, raw); err != nil {
		return nil, s.wrap("tree entries", err)
	}
	for k, r := range raw {
		e := r.Entry
		if e.Metadata, err = decodeMetadata(e.ID, r.Metadata); err != nil {
			return nil, s.wrap("tree entries", err)
		}
		out[k.id] = e
	}
	return out, nil
}

// Untreed implements logstore.Trees.
func (s *Store) Untreed(ctx context.Context, tenant string, upTo logstore.Cursor, start, end time.Time) (string, error) {
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil || !ok {
		return "", err
	}
	var cond string
	var args []any
	if s.pg {
		cond, args = "(e.xid, e.seq) <= (CAST(? AS xid8), ?)", []any{fmt.Sprint(upTo.Epoch), upTo.Seq}
	} else {
		cond, args = "e.seq <= ?", []any{upTo.Seq}
	}
	q := "SELECT e.id FROM log_entries e WHERE e.tenant = ? AND " + cond
	args = append([]any{key}, args...)
	if !start.IsZero() {
		q += " AND e.created_at >= ?"
		args = append(args, s.timeArg(start))
	}
	if !end.IsZero() {
		q += " AND e.created_at <= ?"
		args = append(args, s.timeArg(end))
	}
	q += " AND NOT EXISTS (SELECT 1 FROM log_tree_leaves l WHERE l.tenant = e.tenant AND l.id = e.id) LIMIT 1"
	if s.pg {
		q = strings.Replace(q, "SELECT e.id ", "SELECT e.id::text ", 1)
	}
	var id string
	err = s.db.QueryRowContext(ctx, q, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, s.wrap("untreed", err)
}

// applyTree appends a TreeEffect's leaves, after checking that the tree
// has exactly From leaves.
func (s *Store) applyTree(ctx context.Context, tx bun.Tx, e logstore.TreeEffect) error {
	if len(e.Leaves) == 0 {
		return nil
	}
	key, ok, err := s.tenantKey(ctx, tx, e.Tenant)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bunstore: tree of %q: the tenant has no entries: %w", e.Tenant, logs.ErrConflict)
	}
	to := e.From + int64(len(e.Leaves))
	if _, err := tx.ExecContext(ctx, "INSERT INTO log_tree_heads (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING", e.Tenant); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, "UPDATE log_tree_heads SET size = ? WHERE tenant_id = ? AND size = ?", to, e.Tenant, e.From)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("bunstore: tree of %q: it does not have %d leaves: %w", e.Tenant, e.From, logs.ErrConflict)
	}
	leaves := e.Leaves
	for i := 0; len(leaves) > 0; {
		chunk := leaves[:min(len(leaves), 500)]
		leaves = leaves[len(chunk):]
		var q strings.Builder
		q.WriteString("INSERT INTO log_tree_leaves (tenant, leaf, id, created_at, digest, hashes) VALUES ")
		args := make([]any, 0, 6*len(chunk))
		for j, l := range chunk {
			if l.Index != e.From+int64(i) {
				return fmt.Errorf("bunstore: tree of %q: leaf %d where %d belongs: %w", e.Tenant, l.Index, e.From+int64(i), logs.ErrInternal)
			}
			i++
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?)")
			hs := make([]byte, 0, 32*len(l.Hashes))
			for _, h := range l.Hashes {
				hs = append(hs, h[:]...)
			}
			args = append(args, key, l.Index, l.ID, us(l.CreatedAt), l.Digest[:], hs)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// applyCheckpoint stores a CheckpointEffect's checkpoint and records it in
// the head.
func (s *Store) applyCheckpoint(ctx context.Context, tx bun.Tx, e logstore.CheckpointEffect) error {
	c := e.Checkpoint
	if _, err := tx.ExecContext(ctx, "INSERT INTO log_tree_checkpoints ("+checkpointColumns+") VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, size) DO NOTHING",
		c.Tenant, c.Size, c.Root[:], us(c.Time), string(c.Note)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO log_tree_heads (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING", c.Tenant); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE log_tree_heads SET checkpoint_size = ?, checkpoint_at = ? WHERE tenant_id = ? AND checkpoint_size <= ?",
		c.Size, us(c.Time), c.Tenant, c.Size)
	return err
}

// migrateTree creates the tables of the verifiable log (see the top of
// tree.go), with the immutability triggers of the log table on the
// leaves and the checkpoints.
func migrateTree(d dialectInfo) []string {
	id, blob := "TEXT", "BLOB"
	if d.pg {
		id, blob = "uuid", "bytea"
	}
	out := []string{
		`CREATE TABLE IF NOT EXISTS log_tree_leaves (
			tenant     INTEGER NOT NULL,
			leaf       BIGINT  NOT NULL,
			id         ` + id + ` NOT NULL,
			created_at BIGINT  NOT NULL,
			digest     ` + blob + ` NOT NULL,
			hashes     ` + blob + ` NOT NULL,
			PRIMARY KEY (tenant, leaf)
		)`,
		`CREATE INDEX IF NOT EXISTS log_tree_leaves_ids ON log_tree_leaves (tenant, id)`,
		`CREATE TABLE IF NOT EXISTS log_tree_checkpoints (
			tenant_id  TEXT   NOT NULL,
			size       BIGINT NOT NULL,
			root       ` + blob + ` NOT NULL,
			created_at BIGINT NOT NULL,
			note       TEXT   NOT NULL,
			PRIMARY KEY (tenant_id, size)
		)`,
		`CREATE TABLE IF NOT EXISTS log_tree_heads (
			tenant_id       TEXT   PRIMARY KEY,
			size            BIGINT NOT NULL DEFAULT 0,
			checkpoint_size BIGINT NOT NULL DEFAULT 0,
			checkpoint_at   BIGINT NOT NULL DEFAULT 0,
			published_size  BIGINT NOT NULL DEFAULT 0
		)`,
	}
	for _, t := range []string{"log_tree_leaves", "log_tree_checkpoints"} {
		if d.pg {
			out = append(out,
				`CREATE OR REPLACE TRIGGER `+t+`_immutable BEFORE UPDATE OR DELETE ON `+t+`
					FOR EACH ROW EXECUTE FUNCTION log_entries_refuse_change()`,
				`CREATE OR REPLACE TRIGGER `+t+`_no_truncate BEFORE TRUNCATE ON `+t+`
					FOR EACH STATEMENT EXECUTE FUNCTION log_entries_refuse_change()`)
			continue
		}
		out = append(out,
			`CREATE TRIGGER IF NOT EXISTS `+t+`_no_update BEFORE UPDATE ON `+t+`
				BEGIN SELECT RAISE(ABORT, 'the verifiable log is immutable: UPDATE refused'); END`,
			`CREATE TRIGGER IF NOT EXISTS `+t+`_no_delete BEFORE DELETE ON `+t+`
				BEGIN SELECT RAISE(ABORT, 'the verifiable log is immutable: DELETE refused'); END`)
	}
	return out
}
