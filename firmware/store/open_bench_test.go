package store

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkOpenFresh opens a new, empty database: every migration runs. It
// is the database's share of a first boot's start-up (docs/benchmarks.md).
func BenchmarkOpenFresh(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for b.Loop() {
		s, err := Open(context.Background(), b.TempDir(), Options{Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkOpenExisting opens a database that is up to date: a later boot.
func BenchmarkOpenExisting(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := b.TempDir()
	s, err := Open(context.Background(), dir, Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	for b.Loop() {
		s, err := Open(context.Background(), dir, Options{Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
