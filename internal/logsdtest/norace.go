//go:build !race

package logsdtest

const raceEnabled = false
