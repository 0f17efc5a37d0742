package config

import (
	"context"
	"fmt"
	"log/slog"

	"ringbox/firmware/site"
)

// Source is where the configuration is kept (the store): a version that
// changes with every import or edit, and the site it stands for.
type Source interface {
	ConfigVersion(ctx context.Context) (int64, error)
	ExportSite(ctx context.Context) (*site.Site, error)
}

// Reload publishes src's site when its version differs from the current
// snapshot's, so that an import from another process (or the web page)
// applies without a restart. onChange is called after each publication
// with the new site and what changed. `ringbox serve` calls it every
// second and right after a console apply, one call at a time.
func (st *Store) Reload(ctx context.Context, src Source, log *slog.Logger, onChange func(*site.Site, Changes)) error {
	ver, err := src.ConfigVersion(ctx)
	if err != nil {
		return fmt.Errorf("configuration version: %w", err)
	}
	if ver == st.Current().Version {
		return nil
	}
	s, err := src.ExportSite(ctx)
	if err != nil {
		return fmt.Errorf("read configuration %d: %w", ver, err)
	}
	old, err := st.Publish(s, ver)
	if err != nil {
		return fmt.Errorf("publish configuration %d: %w", ver, err)
	}
	diff := Diff(old.Site, s)
	log.Info("configuration changed", "version", ver, "changes", diff.String())
	if onChange != nil {
		onChange(s, diff)
	}
	return nil
}
