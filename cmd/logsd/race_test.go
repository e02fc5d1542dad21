//go:build race

package main

// raceEnabled tells TestSignal to build the binary as the test was built,
// so that the build reuses the cached packages.
const raceEnabled = true
