// Package soak holds the soak test of ringbox serve (soak_test.go): the
// real binary on its defaults under mixed calls, registrations and API
// use, with its memory, goroutines and file descriptors sampled until the
// end. It is its own package so that `go test ./...` runs it beside the
// end-to-end package instead of after it. docs/testing.md describes it.
package soak
