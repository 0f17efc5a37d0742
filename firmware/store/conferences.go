package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"

	"ringbox/firmware/site"
)

// exportConferences reads the meet-me rooms (conferences:) of the site.
//
// They have no table of their own: every apply records the whole applied
// site in site_versions (sitecodec.go), and the rooms are read back from
// the newest version, the one in force. Only an import changes them, and
// an import always records its version in the same transaction; changes
// that bump the configuration without an import (a password) leave the
// newest version's rooms current. Only the "conferences" key is decoded,
// not the whole document.
func exportConferences(ctx context.Context, q querier) ([]site.Conference, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT site_yaml FROM site_versions ORDER BY version DESC LIMIT 1`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var top struct {
		Conferences json.RawMessage `json:"conferences"`
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("newest site version: %w", err)
	}
	if len(top.Conferences) == 0 || string(top.Conferences) == "null" {
		return nil, nil
	}
	// JSON is YAML: the site file's field names (yaml tags) apply.
	var cs []site.Conference
	if err := yaml.Unmarshal(top.Conferences, &cs); err != nil {
		return nil, fmt.Errorf("newest site version: conferences: %w", err)
	}
	return cs, nil
}
