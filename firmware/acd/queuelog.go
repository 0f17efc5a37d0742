package acd

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ringbox/audio/prompts"
	"ringbox/firmware/call"
	"ringbox/firmware/store"
)

// Queue-log events, with Asterisk's queue_log data fields.
const (
	EvEnterQueue     = "ENTERQUEUE"      // url|callerid|position
	EvConnect        = "CONNECT"         // holdtime|bridged-uniqueid|ringtime[|skill or widened: skills.go]
	EvCompleteAgent  = "COMPLETEAGENT"   // holdtime|calltime|origposition
	EvCompleteCaller = "COMPLETECALLER"  // holdtime|calltime|origposition
	EvAbandon        = "ABANDON"         // position|origposition|waittime
	EvExitTimeout    = "EXITWITHTIMEOUT" // position|origposition|waittime
	EvExitEmpty      = "EXITEMPTY"       // position|origposition|waittime
	EvExitKey        = "EXITWITHKEY"     // key|position|origposition|waittime
	EvRingNoAnswer   = "RINGNOANSWER"    // ringtime in ms (|declined for a decline)
	EvPause          = "PAUSE"           // reason
	EvUnpause        = "UNPAUSE"         // reason
	EvAddMember      = "ADDMEMBER"
	EvRemoveMember   = "REMOVEMEMBER"
)

// Terminal reports whether ev ends a caller's time in the queue. Every
// caller has exactly one: COMPLETE* (after CONNECT), ABANDON or EXIT*.
func Terminal(ev string) bool {
	switch ev {
	case EvCompleteAgent, EvCompleteCaller, EvAbandon, EvExitTimeout, EvExitEmpty, EvExitKey:
		return true
	}
	return false
}

func eventName(ev string) string {
	switch ev {
	case EvAbandon:
		return "abandoned"
	case EvExitTimeout:
		return "timeout"
	case EvExitEmpty:
		return "empty"
	case EvExitKey:
		return "exit_key"
	}
	return strings.ToLower(ev)
}

// qlog appends a queue-log line. The store must see every line, so it is
// written directly, not through the event bus.
func (e *Engine) qlog(queue, callID, agentID, ev string, data ...string) {
	ctx, cancel := dbctx()
	defer cancel()
	if err := e.cfg.Store.InsertQueueLog(ctx, store.QueueLogEntry{CallID: callID, Queue: queue, Agent: agentID, Event: ev, Data: data}); err != nil {
		e.log.Error("queue log", "queue", queue, "call", callID, "event", ev, "err", err)
	}
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func clipSource(clips ...[]int16) call.Source { return prompts.Source(clips...) }

// WriteQueueLog writes entries as Asterisk's queue_log file:
// epoch|callid|queue|agent|event|data1|data2|...
func WriteQueueLog(w io.Writer, entries []store.QueueLogEntry) error {
	var b strings.Builder
	for _, en := range entries {
		b.Reset()
		fmt.Fprintf(&b, "%d|%s|%s|%s|%s", en.Time.Unix(), field(en.CallID), field(en.Queue), field(en.Agent), en.Event)
		for _, d := range en.Data {
			b.WriteByte('|')
			b.WriteString(field(d))
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return fmt.Errorf("write queue log: %w", err)
		}
	}
	return nil
}

// field keeps a value from breaking the line format: a caller-ID name may
// hold anything.
func field(s string) string {
	if s == "" {
		return ""
	}
	return strings.NewReplacer("|", "/", "\n", " ", "\r", " ").Replace(s)
}

// Stats are a queue's figures over a period, computed from the queue log.
type Stats struct {
	Queue    string    `json:"queue"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	Offered  int       `json:"offered"`  // callers who entered
	Answered int       `json:"answered"` // CONNECT
	// Abandoned callers hung up while waiting.
	Abandoned int `json:"abandoned"`
	TimedOut  int `json:"timed_out"`
	Empty     int `json:"empty"`
	ExitKey   int `json:"exit_key"`
	// AvgWait is the mean wait of answered callers; LongestWait is the
	// longest wait of any caller, answered or not (seconds).
	AvgWait     float64 `json:"avg_wait"`
	LongestWait int     `json:"longest_wait"`
	AvgTalk     float64 `json:"avg_talk"`
	// ServiceTarget is T (seconds). ServiceLevel is answered within T over
	// answered (Asterisk's SL); ServiceLevelAbandons counts abandons too:
	// (answered within T + abandoned within T) / (answered + abandoned)
	// (Asterisk's SL2). Percentages; 0 when nothing was counted.
	ServiceTarget        int          `json:"service_target"`
	ServiceLevel         float64      `json:"service_level"`
	ServiceLevelAbandons float64      `json:"service_level_with_abandons"`
	Agents               []AgentStats `json:"agents"`

	// SkillAnswered and WidenedAnswered split the answered calls that
	// needed skills: answered by an agent with the skills the call needed,
	// or by one a widening step let in (skills.go). Answered calls that
	// needed no skills are in neither.
	SkillAnswered   int `json:"skill_answered"`
	WidenedAnswered int `json:"widened_answered"`
}

// AgentStats are one agent's figures in a queue.
type AgentStats struct {
	Agent    string `json:"agent"`
	Answered int    `json:"answered"`
	Missed   int    `json:"missed"`   // rang, not answered
	Declined int    `json:"declined"` // answered and pressed 2, or rejected
	Talk     int    `json:"talk"`     // seconds
}

func num(d []string, i int) int {
	if i >= len(d) {
		return 0
	}
	n, _ := strconv.Atoi(d[i])
	return n
}

// ComputeStats computes queue's figures from its log entries (oldest
// first), with service-level target t.
func ComputeStats(queue string, entries []store.QueueLogEntry, t time.Duration) Stats {
	s := Stats{Queue: queue, ServiceTarget: int(t / time.Second)}
	agents := map[string]*AgentStats{}
	var order []string
	ag := func(id string) *AgentStats {
		if a, ok := agents[id]; ok {
			return a
		}
		a := &AgentStats{Agent: id}
		agents[id] = a
		order = append(order, id)
		return a
	}
	target := int(t / time.Second)
	var waitSum, talkSum, talks, inSL, abandonedInSL int
	for _, en := range entries {
		if queue != "" && en.Queue != queue {
			continue
		}
		d := en.Data
		switch en.Event {
		case EvEnterQueue:
			s.Offered++
		case EvConnect:
			s.Answered++
			w := num(d, 0)
			waitSum += w
			s.LongestWait = max(s.LongestWait, w)
			if w <= target {
				inSL++
			}
			ag(en.Agent).Answered++
			if len(d) > 3 {
				switch d[3] {
				case MatchSkill:
					s.SkillAnswered++
				case MatchWidened:
					s.WidenedAnswered++
				}
			}
		case EvCompleteAgent, EvCompleteCaller:
			talkSum += num(d, 1)
			talks++
			ag(en.Agent).Talk += num(d, 1)
		case EvAbandon:
			s.Abandoned++
			w := num(d, 2)
			s.LongestWait = max(s.LongestWait, w)
			if w <= target {
				abandonedInSL++
			}
		case EvExitTimeout, EvExitEmpty:
			if en.Event == EvExitTimeout {
				s.TimedOut++
			} else {
				s.Empty++
			}
			s.LongestWait = max(s.LongestWait, num(d, 2))
		case EvExitKey:
			s.ExitKey++
			s.LongestWait = max(s.LongestWait, num(d, 3))
		case EvRingNoAnswer:
			if len(d) > 1 && d[1] == "declined" {
				ag(en.Agent).Declined++
			} else {
				ag(en.Agent).Missed++
			}
		}
	}
	if s.Answered > 0 {
		s.AvgWait = round1(float64(waitSum) / float64(s.Answered))
		s.ServiceLevel = round1(100 * float64(inSL) / float64(s.Answered))
	}
	if talks > 0 {
		s.AvgTalk = round1(float64(talkSum) / float64(talks))
	}
	if n := s.Answered + s.Abandoned; n > 0 {
		s.ServiceLevelAbandons = round1(100 * float64(inSL+abandonedInSL) / float64(n))
	}
	s.Agents = make([]AgentStats, 0, len(order))
	for _, id := range order {
		s.Agents = append(s.Agents, *agents[id])
	}
	return s
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
