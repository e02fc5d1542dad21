//go:build race

package logexport_test

const raceEnabled = true
