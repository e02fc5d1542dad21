package main

import (
	"context"
	"fmt"
	"time"
)

// DefaultRetention is how long entries are kept unless configured: the API
// document's 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// retentionEvery is how often the purge runs.
const retentionEvery = time.Hour

// retentionValue is the --retention setting: a duration, "" for
// DefaultRetention, or "off" (stored as -1) to keep entries forever.
type retentionValue struct{ p *time.Duration }

func (v retentionValue) Set(s string) error {
	switch s {
	case "":
		*v.p = 0
		return nil
	case "off":
		*v.p = -1
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Hour {
		return fmt.Errorf("%q is not a duration of an hour or more (such as 720h), nor off", s)
	}
	*v.p = d
	return nil
}

func (v retentionValue) String() string {
	switch {
	case v.p == nil || *v.p == 0:
		return ""
	case *v.p < 0:
		return "off"
	}
	return v.p.String()
}

// startRetention purges entries older than the retention at start and then
// every retentionEvery, until Close. On PostgreSQL whole monthly partitions
// go once all of their month is past the retention.
func (m *Main) startRetention() {
	keep := m.Config.Retention
	if keep < 0 {
		return
	}
	if keep == 0 {
		keep = DefaultRetention
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.stopRetention = func() { cancel(); <-done }
	go func() {
		defer close(done)
		t := time.NewTicker(retentionEvery)
		defer t.Stop()
		for {
			before := time.Now().Add(-keep)
			n, err := m.store.Purge(ctx, before)
			switch {
			case err != nil && ctx.Err() == nil:
				m.logger().Warn("logsd: retention purge failed; will retry", "err", err)
			case n > 0:
				m.logger().Info("logsd: retention purge", "removed", n, "before", before.UTC().Format(time.RFC3339))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
