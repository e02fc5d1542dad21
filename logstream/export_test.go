package logstream

// IsLive reports whether the tailer feeds s (tests only).
func (s *Subscription) IsLive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}
