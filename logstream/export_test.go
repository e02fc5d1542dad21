package logstream

// IsLive reports whether the tailer feeds s (tests only).
func (s *Subscription) IsLive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// RecentLen returns the number of entries in the tailer's ring of recent
// entries (tests only).
func (b *Broadcaster) RecentLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rlen
}
