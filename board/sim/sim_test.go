package sim

import (
	"testing"

	"ringbox/board"
)

func TestPressAndLED(t *testing.T) {
	b := New(2)
	events := b.Events(t.Context())
	if err := b.Press(3, board.Short); err == nil {
		t.Error("pressing a button the board lacks succeeded")
	}
	if err := b.Press(2, board.Long); err != nil {
		t.Fatal(err)
	}
	ev := <-events
	if ev.Button != 2 || ev.Kind != board.Long {
		t.Errorf("event %+v, want button 2 long", ev)
	}
	b.LED(1).Set(board.SlowBlink)
	if got := b.LED(1).Get(); got != board.SlowBlink {
		t.Errorf("LED 1 = %v", got)
	}
	if b.LED(0) != nil || b.LED(3) != nil {
		t.Error("LED out of range is not nil")
	}
}
