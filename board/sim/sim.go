// Package sim is the simulated board: buttons pressed by tests, the REST API
// or the web panel, and LEDs whose pattern can be read back. It is what
// `ringbox serve --board sim` runs with on a laptop.
package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"ringbox/board"
	"ringbox/board/line"
)

// Board is an in-process board with n buttons and LEDs.
type Board struct {
	buttons []board.Button
	leds    []*led
	events  chan board.ButtonEvent
}

// New returns a simulated board with n queue-login buttons.
func New(n int) *Board {
	b := &Board{events: make(chan board.ButtonEvent, 16)}
	for i := 1; i <= n; i++ {
		b.buttons = append(b.buttons, board.Button{N: i, Label: fmt.Sprintf("Queue login %d", i)})
		b.leds = append(b.leds, &led{})
	}
	return b
}

func (b *Board) Name() string            { return "sim" }
func (b *Board) Buttons() []board.Button { return b.buttons }

func (b *Board) LED(n int) board.LED {
	if n < 1 || n > len(b.leds) {
		return nil
	}
	return b.leds[n-1]
}

// Events delivers presses made with Press.
func (b *Board) Events(ctx context.Context) <-chan board.ButtonEvent {
	out := make(chan board.ButtonEvent)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-b.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// Press simulates a press of button n.
func (b *Board) Press(n int, kind board.Press) error {
	if n < 1 || n > len(b.buttons) {
		return fmt.Errorf("sim: no button %d (the board has %d)", n, len(b.buttons))
	}
	b.events <- board.ButtonEvent{Button: n, Kind: kind, Time: time.Now()}
	return nil
}

// QueueLEDs implements board.Board.
func (b *Board) QueueLEDs() int { return 0 }

// QueueLED implements board.Board.
func (b *Board) QueueLED(n int) board.LED { return nil }

// Lines implements board.Board.
func (b *Board) Lines() []line.Port { return nil }

func (b *Board) Close() error { return nil }

type led struct {
	mu sync.Mutex // protects p
	p  board.Pattern
}

func (l *led) Set(p board.Pattern) { l.mu.Lock(); l.p = p; l.mu.Unlock() }
func (l *led) Get() board.Pattern  { l.mu.Lock(); defer l.mu.Unlock(); return l.p }
