package voicemail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"ringbox/firmware/site"
)

// The web page's side of a mailbox: its owner listens in the browser and
// deletes messages there, and the phone's message-waiting light follows.

// MarkHeard moves message id of box to the old ones, as listening to it
// by phone does, and updates the box's indicator.
func (s *Service) MarkHeard(ctx context.Context, st *site.Site, box string, id int64) error {
	if err := s.Store.MarkVoicemailHeard(ctx, id); err != nil {
		return fmt.Errorf("mark message %d of %s heard: %w", id, box, err)
	}
	if b, ok := Lookup(st, box); ok {
		s.notify(ctx, b)
	}
	return nil
}

// Delete removes message id of box, its row and its file, and updates the
// box's indicator. file is the message's file, relative to DataDir.
func (s *Service) Delete(ctx context.Context, st *site.Site, box string, id int64, file string) error {
	if err := s.Store.DeleteVoicemail(ctx, id); err != nil {
		return fmt.Errorf("delete message %d of %s: %w", id, box, err)
	}
	if file != "" {
		if err := os.Remove(filepath.Join(s.DataDir, file)); err != nil && !errors.Is(err, os.ErrNotExist) {
			// The row is gone, so the message is; a stray file is only space.
			s.logger().Warn("remove message file", "box", box, "id", id, "err", err)
		}
	}
	if b, ok := Lookup(st, box); ok {
		s.notify(ctx, b)
	}
	return nil
}
