package flow

import (
	"context"
	"strings"
	"time"

	"ringbox/audio/prompts"
	"ringbox/firmware/call"
	"ringbox/firmware/ring"
	"ringbox/firmware/voicemail"
)

// FeatureRecordPrompt records a prompt from a phone: *70 then the prompt's
// id in digits, all in the one dialled string (*70123 records prompt
// "123"), so no second prompt for the id is needed.
const FeatureRecordPrompt = "*70"

// Prompt takes from a phone (docs/audio.md).
const (
	// MaxPromptTake is the longest take: the library's limit for a prompt.
	MaxPromptTake = 10 * time.Minute
	// MinPromptTake is the shortest take stored: anything shorter is a
	// caller who hung up at once, and must not replace a good prompt.
	MinPromptTake = 500 * time.Millisecond
)

// PromptStore stores a prompt recorded on a call; *library.Library
// implements it, through the same install as an upload.
type PromptStore interface {
	RecordPrompt(ctx context.Context, id string, pcm []int16, rate int, actor string) error
}

// promptID is the prompt id dialled after *70; ok is false when code is
// not a prompt recording.
func promptID(code string) (string, bool) {
	id, ok := strings.CutPrefix(code, FeatureRecordPrompt)
	if !ok || id == "" || len(id) > 64 {
		return "", false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return id, true
}

// recordPrompt answers, beeps, records until '#', the hang-up or
// MaxPromptTake, stores the take as prompt id with the calling extension
// as the actor, and plays the take back. Any extension that authenticated
// may record: the box trusts its own phones as it does for *28.
func recordPrompt(ctx context.Context, c *Call, id string) call.Cause {
	x := ring.FindExt(c.snap.Site, c.info.Extension)
	if x == nil {
		return call.Forbidden
	}
	if c.e.PromptStore == nil {
		return call.Unavailable
	}
	if err := c.answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	m := c.in.Media()
	rate := rateOf(m)
	if err := c.play(ctx, false, "voicemail-beep"); err != nil {
		return call.CauseOf(err)
	}
	pcm, _ := voicemail.Record(ctx, c.in, MaxPromptTake, rate)
	take := time.Duration(len(pcm)) * time.Second / time.Duration(rate)
	actor := "ext:" + x.Number
	log := c.log.With("prompt", id, "ext", x.Number, "length", take)
	if take < MinPromptTake {
		log.Info("prompt take too short, discarded", "min", MinPromptTake)
		return call.Normal
	}
	// The caller may have hung up to end the take: storing it must not
	// depend on the call still being up.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.e.PromptStore.RecordPrompt(sctx, id, pcm, rate, actor); err != nil {
		log.Error("prompt take not stored", "err", err)
		return call.Failure
	}
	log.Info("prompt recorded from a phone", "actor", actor)
	select {
	case <-c.in.Done():
		return call.Normal
	default:
	}
	if err := m.Play(ctx, prompts.Source(pcm), false); err != nil {
		return call.CauseOf(err)
	}
	return call.Normal
}
