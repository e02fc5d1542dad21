//go:build race

package logsdtest

// raceEnabled: the tests run with the race detector, and so do the client
// programs they build.
const raceEnabled = true
