package config_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"ringbox/firmware/config"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// diffSite has a queue with comfort messages (a pointer in the model) and
// other nested values, so each reload reads new copies of them.
const diffSite = `version: 1
system: {name: Diff Office, timezone: Europe/Paris}
extensions:
  - {number: "101", name: Bob}
  - {number: "102", name: Sue}
agents:
  - {id: bob, extension: "101"}
  - {id: sue, extension: "102"}
queues:
  - id: service
    agents: [bob, {agent: sue, level: 2}]
    comfort: {every: 45s, prompts: [please-hold]}
  - {id: sales, agents: [sue]}
ivrs:
  - {id: main, greeting: main-menu, options: {"1": queue:service, "2": queue:sales}}
`

// TestReloadNamesOnlyWhatChanged drives the path the box takes: the store
// holds the site, Reload reads it back and says what changed, and that is
// what the config.changed event names.
func TestReloadNamesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := site.Parse([]byte(diffSite), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSite(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.New(&site.Site{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var got []config.Changes
	on := func(_ *site.Site, d config.Changes) { got = append(got, d) }
	reload := func() config.Changes {
		t.Helper()
		got = nil
		if err := cfg.Reload(ctx, st, log, on); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("Reload published %d times, want 1", len(got))
		}
		return got[0]
	}
	reload() // the first load adds everything

	t.Run("nothing changed", func(t *testing.T) {
		// The same site imported again is a new version with new copies.
		again, _ := site.Parse([]byte(diffSite), "site.yaml")
		if _, err := st.ImportSite(ctx, again, "test"); err != nil {
			t.Fatal(err)
		}
		if d := reload(); !d.Empty() {
			t.Errorf("config.changed for an identical site names %q, want nothing", d)
		}
	})

	t.Run("one extension changed", func(t *testing.T) {
		edited, _ := site.Parse([]byte(strings.Replace(diffSite, "name: Sue", "name: Susan", 1)), "site.yaml")
		if _, err := st.ImportSite(ctx, edited, "test"); err != nil {
			t.Fatal(err)
		}
		if d := reload(); d.String() != "changed extensions 102" {
			t.Errorf("config.changed names %q, want only %q", d, "changed extensions 102")
		}
	})
}

func TestDiffComparesValuesNotAddresses(t *testing.T) {
	q := func(every site.Duration) site.Queue {
		return site.Queue{ID: "service", Comfort: &site.Comfort{Every: every, Prompts: []string{"welcome"}}}
	}
	tests := []struct {
		name     string
		old, new site.Queue
		want     string
	}{
		{"same comfort at another address", q(45), q(45), "no changes"},
		{"comfort changed", q(45), q(60), "changed queues service"},
		{"nil and empty agents", site.Queue{ID: "service"}, site.Queue{ID: "service", Agents: []site.QueueAgent{}}, "no changes"},
		{"comfort removed", q(45), site.Queue{ID: "service"}, "changed queues service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := config.Diff(&site.Site{Queues: []site.Queue{tt.old}}, &site.Site{Queues: []site.Queue{tt.new}})
			if got := d.String(); got != tt.want {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
		})
	}
}
