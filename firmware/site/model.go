// Package site is the configuration model of one installation: the objects
// of the site file (docs/site-file.md), their validation, and their YAML form.
//
// The database (package store) is the one source of truth; a Site is the
// value that moves between the site file, the database and the running
// engine. A Site handed to the engine is never mutated again (see package
// config), so every field here is plain data.
package site

import (
	"fmt"
	"time"
)

// Site is one whole installation.
type Site struct {
	Version       int             `yaml:"version"`
	System        System          `yaml:"system"`
	Extensions    []Extension     `yaml:"extensions,omitempty"`
	Agents        []Agent         `yaml:"agents,omitempty"`
	RingGroups    []RingGroup     `yaml:"ring_groups,omitempty"`
	HuntGroups    []HuntGroup     `yaml:"hunt_groups,omitempty"`
	Queues        []Queue         `yaml:"queues,omitempty"`
	IVRs          []IVR           `yaml:"ivrs,omitempty"`
	Announcements []Announcement  `yaml:"announcements,omitempty"`
	Schedules     []Schedule      `yaml:"schedules,omitempty"`
	Inbound       []InboundRoute  `yaml:"inbound,omitempty"`
	Voicemail     []Mailbox       `yaml:"voicemail,omitempty"`
	Trunks        []Trunk         `yaml:"trunks,omitempty"`
	Outbound      []OutboundRoute `yaml:"outbound,omitempty"`
	Lines         []Line          `yaml:"lines,omitempty"`
	Prompts       []Prompt        `yaml:"prompts,omitempty"`
	HoldMusic     []HoldMusic     `yaml:"hold_music,omitempty"`
	Users         []User          `yaml:"users,omitempty"`
	Conferences   []Conference    `yaml:"conferences,omitempty"`
	// CallerLists are named lists of callers' numbers (dial patterns, see
	// skills.go) that inbound routes and IVRs match with caller: list:ID.
	CallerLists []CallerList `yaml:"caller_lists,omitempty"`
}

// System holds the installation-wide settings.
type System struct {
	Name         string `yaml:"name"`
	Timezone     string `yaml:"timezone"`            // IANA name; default UTC
	ToneZone     string `yaml:"tone_zone,omitempty"` // us, uk, de, fr, nl, au, jp; default us
	OfficeNumber string `yaml:"office_number,omitempty"`
	Language     string `yaml:"language,omitempty"` // prompt language: en, fr; default en
	// LoopLimit is how many times one call may enter the same destination
	// before it goes to LoopTo; 0 means 5.
	LoopLimit int    `yaml:"loop_limit,omitempty"`
	LoopTo    string `yaml:"loop_to,omitempty"` // default hangup
	// SIPDigest lists the digest challenges phones get, in order: md5,
	// sha256. Empty means md5 alone, which every phone speaks; ringbox
	// serve --sip-digest overrides it.
	SIPDigest []string `yaml:"sip_digest,omitempty,flow"`
	// SMTP relay for voicemail to e-mail.
	SMTP *SMTP `yaml:"smtp,omitempty"`
	// TransferRecall is how long a blind transfer's destination may ring
	// (or how soon it may decline) before the call goes back to the
	// transferrer; 0 means 30s.
	TransferRecall Duration `yaml:"transfer_recall,omitempty"`
	// ParkSlots are the numbers calls are parked on (*71), a range
	// "701-709"; "" means 701-709.
	ParkSlots string `yaml:"park_slots,omitempty"`
	// ParkTimeout is how long a call stays parked before it rings the
	// parker again; 0 means 120s.
	ParkTimeout Duration `yaml:"park_timeout,omitempty"`

	// DISA (issue 14 part 5): DISAAttempts calls to disa are allowed per
	// caller number within DISAWindow; 0 means 5 per 10m.
	DISAAttempts int      `yaml:"disa_attempts,omitempty"`
	DISAWindow   Duration `yaml:"disa_window,omitempty"`
	// VoicemailPINRequired makes *97 ask the mailbox PIN from the owner's
	// own phone too; without it the phone's SIP account is the credential
	// there. Other phones and callers from outside always give the PIN.
	VoicemailPINRequired bool `yaml:"voicemail_pin_required,omitempty"`
	// Toll fraud (docs/security.md). InternationalHours names a schedule
	// outside which international and premium calls from extensions are
	// refused; "" means at any time. AlertEmail receives the toll-fraud
	// alerts through system.smtp; "" means events and the log only.
	InternationalHours string `yaml:"international_hours,omitempty"`
	AlertEmail         string `yaml:"alert_email,omitempty"`

	// SIPUserAgent is the box's User-Agent and Server header (issue 15,
	// docs/security.md); "" means "Ringbox", without the version.
	SIPUserAgent string `yaml:"sip_user_agent,omitempty"`
	// The edge filter's bans (docs/security.md): SIPBanFailures failed
	// authentications within SIPBanWindow ban the address, and the
	// extension guessed, for SIPBanTime, doubling for a repeat; 0 means
	// 5 in 10m for 1h. SIPTrusted networks are never rate-limited or
	// banned (an office LAN behind one NAT address).
	SIPBanFailures int      `yaml:"sip_ban_failures,omitempty"`
	SIPBanWindow   Duration `yaml:"sip_ban_window,omitempty"`
	SIPBanTime     Duration `yaml:"sip_ban_time,omitempty"`
	SIPTrusted     []string `yaml:"sip_trusted,omitempty"`
	// MediaTimeout ends an answered call after this long without RTP from
	// one side (a far end gone without a BYE; held calls excluded); 0
	// means ringbox serve's --media-timeout (60s).
	MediaTimeout Duration `yaml:"media_timeout,omitempty"`
	// Inbound call caps per source address (issue 15 part 4, trunkid.go):
	// calls from one address that is not a trunk's, in set-up (INVITE
	// taken, not yet acknowledged) and in progress; 0 means the default.
	MaxSetupPerSource int `yaml:"max_setup_per_source,omitempty"`
	MaxCallsPerSource int `yaml:"max_calls_per_source,omitempty"`
}

// SMTP is the relay voicemail e-mail goes through.
type SMTP struct {
	Host     string `yaml:"host"` // host:port
	From     string `yaml:"from"`
	Username string `yaml:"username,omitempty"`
	Password string `yaml:"password,omitempty"` // a secret: exported only with --with-secrets
}

// Permission classes for outbound calls, from least to most.
const (
	PermInternal      = "internal"
	PermLocal         = "local"
	PermNational      = "national"
	PermInternational = "international"
	// PermPremium also allows premium-rate numbers (0899, 1-900...),
	// which international does not.
	PermPremium = "premium"
)

// Extension is a SIP account: a desk phone or a softphone.
type Extension struct {
	Number      string `yaml:"number"`
	Name        string `yaml:"name,omitempty"`
	Secret      string `yaml:"secret,omitempty"` // a secret: exported only with --with-secrets
	Voicemail   bool   `yaml:"voicemail,omitempty"`
	Email       string `yaml:"email,omitempty"`
	HuntBlocked bool   `yaml:"hunt_blocked,omitempty"`
	Permission  string `yaml:"permission,omitempty"` // default national
	DND         bool   `yaml:"dnd,omitempty"`
	// PickupGroup: *8 and **EXT pick up calls only between extensions of
	// the same group; extensions without one form one group together.
	PickupGroup string `yaml:"pickup_group,omitempty"`

	// Mobile is the extension's user's mobile number: a call from it to
	// disa is that extension's without a PIN (docs/features.md).
	Mobile string `yaml:"mobile,omitempty"`
	// DISAPIN lets anyone who knows it call out through disa as this
	// extension; a secret: exported only with --with-secrets.
	DISAPIN string `yaml:"disa_pin,omitempty"`
	// VoicemailPIN opens the extension's own mailbox from other phones
	// (*98) and from outside; 4-10 digits. A secret: exported only with
	// --with-secrets. The owner may change it by phone.
	VoicemailPIN string `yaml:"voicemail_pin,omitempty"`
	// Toll-fraud limits on calls to outside numbers: at most this many at
	// once (default 4) and per rolling hour (default 60).
	MaxOutsideCalls     int `yaml:"max_outside_calls,omitempty"`
	OutsideCallsPerHour int `yaml:"outside_calls_per_hour,omitempty"`

	// Allow lists the networks (CIDR, or single addresses) the extension
	// may authenticate from; empty means anywhere (docs/security.md).
	Allow []string `yaml:"allow,omitempty,flow"`
}

// Ring preferences of an agent.
const (
	RingBoth                = "both"
	RingExtensionThenMobile = "extension_then_mobile"
	RingExtensionOnly       = "extension_only"
	RingMobileOnly          = "mobile_only"
	// The agent's browser page (package webrtc); the extension ones need
	// an extension. browser_then_extension brings the extension in after
	// mobile_after, the field extension_then_mobile uses for the mobile.
	RingBrowser              = "browser"
	RingBrowserThenExtension = "browser_then_extension"
	RingBrowserAndExtension  = "browser_and_extension"
)

// Agent is a person who takes calls from queues and groups.
type Agent struct {
	ID             string   `yaml:"id"`
	Name           string   `yaml:"name,omitempty"`
	Extension      string   `yaml:"extension,omitempty"`
	Mobile         string   `yaml:"mobile,omitempty"`
	RingPreference string   `yaml:"ring_preference,omitempty"` // default extension_only, or both when a mobile is set
	MobileAfter    Duration `yaml:"mobile_after,omitempty"`    // also the extension's delay under browser_then_extension
	Role           string   `yaml:"role,omitempty"`            // agent | manager; default agent
	ReportsTo      string   `yaml:"reports_to,omitempty"`
	Hours          []Range  `yaml:"hours,omitempty"`      // empty: always within hours
	AutoLogin      bool     `yaml:"auto_login,omitempty"` // log in/out at the edges of Hours
	Button         int      `yaml:"button,omitempty"`
	PIN            string   `yaml:"pin,omitempty"` // a secret: exported only with --with-secrets
	// WrapupAfterAllCalls starts wrap-up after every answered call of the
	// agent (ring groups, hunt groups, direct calls), not only queue calls.
	WrapupAfterAllCalls bool `yaml:"wrapup_after_all_calls,omitempty"`
	// Wrapup is the wrap-up after calls that are not queue calls; default
	// the longest wrap-up of the agent's queues, else 15s.
	Wrapup Duration `yaml:"wrapup,omitempty"`
	// Skills are what the agent is good at, each with a level from 1 to
	// MaxSkillLevel (skills.go).
	Skills map[string]int `yaml:"skills,omitempty,flow"`
}

// Range is a weekly time range in system.timezone.
type Range struct {
	Days string `yaml:"days"` // "mon-fri", "sat", "mon,wed,fri"
	From string `yaml:"from"` // "HH:MM"
	To   string `yaml:"to"`   // "HH:MM"; earlier than From crosses midnight
}

// RingGroup is a staged ring group.
type RingGroup struct {
	ID        string  `yaml:"id"`
	Name      string  `yaml:"name,omitempty"`
	Stages    []Stage `yaml:"stages"`
	Repeat    int     `yaml:"repeat,omitempty"` // default 1
	CIDPrefix string  `yaml:"cid_prefix,omitempty"`
	Confirm   string  `yaml:"confirm,omitempty"`   // never | external | always; default never
	Music     string  `yaml:"music,omitempty"`     // hold-music class the caller hears instead of ringback
	NoAnswer  string  `yaml:"no_answer,omitempty"` // default hangup
	// RingUnavailableAgents rings member agents who are unavailable,
	// logged out, in wrap-up or off hours (they are skipped by default).
	RingUnavailableAgents bool `yaml:"ring_unavailable_agents,omitempty"`
}

// Stage is one step of a ring group.
type Stage struct {
	Ring []string `yaml:"ring,flow"`
	For  Duration `yaml:"for"`
}

// Hunt strategies.
const (
	HuntSequential      = "sequential"
	HuntRoundRobin      = "round_robin"
	HuntMemoryHunt      = "memory_hunt"
	HuntFirstNotOnPhone = "first_not_on_phone"
	HuntRingAll         = "ring_all"
	HuntRandom          = "random"
)

// HuntGroup rings its members one at a time (or as the strategy says).
type HuntGroup struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name,omitempty"`
	Strategy string   `yaml:"strategy,omitempty"` // default sequential
	Members  []string `yaml:"members,flow"`
	Ring     Duration `yaml:"ring,omitempty"` // default 15s
	NoAnswer string   `yaml:"no_answer,omitempty"`
	// RingUnavailableAgents rings member agents who are unavailable,
	// logged out, in wrap-up or off hours (they are skipped by default).
	RingUnavailableAgents bool `yaml:"ring_unavailable_agents,omitempty"`
}

// Queue strategies.
const (
	QueueLongestIdle       = "longest_idle"
	QueueRoundRobin        = "round_robin"
	QueueLinear            = "linear"
	QueueRingAll           = "ring_all"
	QueueFewestCalls       = "fewest_calls"
	QueueLeastTalkTime     = "least_talk_time"
	QueueRandom            = "random"
	QueueRingProgressively = "ring_progressively"
)

// Queue is a call queue served by agents.
type Queue struct {
	ID               string       `yaml:"id"`
	Name             string       `yaml:"name,omitempty"`
	Strategy         string       `yaml:"strategy,omitempty"` // default longest_idle
	Agents           []QueueAgent `yaml:"agents"`
	AgentRing        Duration     `yaml:"agent_ring,omitempty"` // default 15s
	Wrapup           Duration     `yaml:"wrapup,omitempty"`
	Confirm          bool         `yaml:"confirm,omitempty"`
	MaxNoAnswer      int          `yaml:"max_no_answer,omitempty"`
	RetryDelay       Duration     `yaml:"retry_delay,omitempty"` // before the same agent is offered again; default 5s
	MaxWait          Duration     `yaml:"max_wait,omitempty"`
	OnTimeout        string       `yaml:"on_timeout,omitempty"`
	OnEmpty          string       `yaml:"on_empty,omitempty"`
	HoldMusic        string       `yaml:"hold_music,omitempty"`
	Comfort          *Comfort     `yaml:"comfort,omitempty"`
	AnnouncePosition Duration     `yaml:"announce_position,omitempty"`
	LevelWait        Duration     `yaml:"level_wait,omitempty"`    // wait before the next level is reached; default 30s
	ServiceLevel     Duration     `yaml:"service_level,omitempty"` // default 20s
	ExitKey          string       `yaml:"exit_key,omitempty"`
	ExitTo           string       `yaml:"exit_to,omitempty"`
	// LED is the queue LED on the box that shows this queue: on while
	// callers wait, fast blink once one has waited past the service
	// level; 0 for none.
	LED int `yaml:"led,omitempty"`
	// Number is the queue's dialable number: *45 then the number logs an
	// agent in to or out of this queue alone, and dialling it from an
	// extension enters the queue.
	Number string `yaml:"number,omitempty"`
	// Skills are the minimum skill levels the queue's calls need when the
	// call brings none of its own (skills.go).
	Skills map[string]int `yaml:"skills,omitempty,flow"`
	// SkillWidening lowers the skill requirement as a caller waits.
	SkillWidening []SkillStep `yaml:"skill_widening,omitempty"`
}

// QueueAgent is an agent serving a queue at a level (1 is first). In YAML it
// is either the agent id or {agent: id, level: N}.
type QueueAgent struct {
	Agent string
	Level int // 0 or 1: first level
}

// Comfort messages spliced into the hold music.
type Comfort struct {
	Every   Duration `yaml:"every"`
	Prompts []string `yaml:"prompts,flow"`
}

// IVR is a virtual receptionist menu.
type IVR struct {
	ID             string            `yaml:"id"`
	Name           string            `yaml:"name,omitempty"`
	Greeting       string            `yaml:"greeting,omitempty"`
	Options        map[string]string `yaml:"options,omitempty"` // key 0-9 * # -> destination
	DirectDial     bool              `yaml:"direct_dial,omitempty"`
	Timeout        Duration          `yaml:"timeout,omitempty"`         // default 10s
	DigitTimeout   Duration          `yaml:"digit_timeout,omitempty"`   // inter-digit; default 2s
	Retries        int               `yaml:"retries,omitempty"`         // invalid keys allowed; default 3
	TimeoutRetries int               `yaml:"timeout_retries,omitempty"` // default 3
	Invalid        string            `yaml:"invalid,omitempty"`         // prompt
	OnInvalid      string            `yaml:"on_invalid,omitempty"`      // default hangup
	OnTimeout      string            `yaml:"on_timeout,omitempty"`      // default hangup
	// OptionSkills are the skills a call needs once the caller pressed
	// an option's key: key -> skill -> minimum level (skills.go).
	OptionSkills map[string]map[string]int `yaml:"option_skills,omitempty"`
	// Callers whose number matches go straight to their destination,
	// without the menu (skills.go).
	Callers []CallerRoute `yaml:"callers,omitempty"`
}

// Announcement plays a prompt, optionally starts recording, then goes on.
type Announcement struct {
	ID     string `yaml:"id"`
	Prompt string `yaml:"prompt"`
	Record bool   `yaml:"record,omitempty"`
	Next   string `yaml:"next"`
}

// Schedule is a set of weekly open ranges and holidays.
type Schedule struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name,omitempty"`
	Open     []Range  `yaml:"open"`
	Holidays []string `yaml:"holidays,omitempty,flow"` // YYYY-MM-DD
}

// InboundRoute says where calls from a trunk or FXO line enter.
type InboundRoute struct {
	Match     string `yaml:"match,omitempty"` // DID, "fxo:N" or "*"; optional with caller ("*")
	When      string `yaml:"when,omitempty"`
	To        string `yaml:"to"`
	Otherwise string `yaml:"otherwise,omitempty"`
	// Caller limits the route to callers whose number matches: a dial
	// pattern or list:ID (caller_lists). Routes with a caller are tried
	// before all others (skills.go).
	Caller string `yaml:"caller,omitempty"`
	// Skills are the minimum skill levels the call needs in the queue it
	// reaches.
	Skills map[string]int `yaml:"skills,omitempty,flow"`
}

// Mailbox is a voicemail box not owned by an extension (a group box).
type Mailbox struct {
	Box       string   `yaml:"box"`
	Name      string   `yaml:"name,omitempty"`
	Email     string   `yaml:"email,omitempty"`
	Greeting  string   `yaml:"greeting,omitempty"`   // prompt id
	MaxLength Duration `yaml:"max_length,omitempty"` // default 3m
	MinLength Duration `yaml:"min_length,omitempty"` // default 2s
	PIN       string   `yaml:"pin,omitempty"`        // a secret; 4-10 digits, to listen by phone (*98)
}

// Trunk is a SIP trunk or an FXO line.
type Trunk struct {
	ID        string `yaml:"id"`
	Host      string `yaml:"host,omitempty"`
	Transport string `yaml:"transport,omitempty"` // udp | tcp | tls; default udp
	Username  string `yaml:"username,omitempty"`
	Password  string `yaml:"password,omitempty"` // a secret
	Register  bool   `yaml:"register,omitempty"`
	FXO       int    `yaml:"fxo,omitempty"`
	// CallerID is the number a call the box sends on to an outside number
	// (a mobile, a forwarded call) shows through this trunk: "caller" (the
	// default) shows the original caller's number, with Diversion and
	// P-Asserted-Identity naming the office so carriers accept it;
	// "office" shows the office number. Calls from extensions always show
	// the office number.
	CallerID string `yaml:"caller_id,omitempty"`
	// OfficeNumber overrides system.office_number on calls through this
	// trunk.
	OfficeNumber string `yaml:"office_number,omitempty"`
	// SilenceTimeout ends a call on an FXO line after this long with no
	// sound either way, for exchanges that signal a hang-up neither by
	// polarity reversal, loop-current drop nor busy tone; 0 (the
	// default): off.
	SilenceTimeout Duration `yaml:"silence_timeout,omitempty"`
	// Prack is how the box treats reliable provisional responses (RFC
	// 3262) on calls it sends to this trunk: "supported" (the default)
	// offers them (Supported: 100rel), "required" insists (Require:
	// 100rel) for carriers that want every 180/183 acknowledged, "off"
	// does not offer them. Reliable responses that arrive are
	// acknowledged (PRACK) whatever the setting.
	Prack string `yaml:"prack,omitempty"`
	// SRTP is the media of a TLS trunk: "sdes" (the default) offers and
	// accepts SRTP keyed in the SDP; "off" keeps plain RTP under the TLS
	// signalling, for carriers that encrypt signalling only. Over udp and
	// tcp the box never sends keys, so the field applies to tls only.
	SRTP string `yaml:"srtp,omitempty"`

	// Toll-fraud limits on outbound calls through this trunk: at most this
	// many at once and per rolling hour; 0 (the default): no limit.
	MaxOutboundCalls int `yaml:"max_outbound_calls,omitempty"`
	OutboundPerHour  int `yaml:"outbound_per_hour,omitempty"`

	// Inbound identification and caps (issue 15 part 4, trunkid.go and
	// docs/security.md "Trunks"). Ports: the source ports the trunk's
	// calls come from at its host's address (strict: other ports are
	// phones). Allow: more source networks (CIDR or address) whose calls
	// are the trunk's from any port. MatchHeader: a header the trunk's
	// INVITEs must carry. InboundAuth: the box challenges the trunk's
	// INVITEs with digest against these credentials.
	Ports       []int        `yaml:"ports,omitempty,flow"`
	Allow       []string     `yaml:"allow,omitempty,flow"`
	MatchHeader *HeaderMatch `yaml:"match_header,omitempty"`
	InboundAuth *InboundAuth `yaml:"inbound_auth,omitempty"`
	// Caps on the trunk's inbound calls in set-up and in progress; 0
	// means the default.
	MaxInboundSetup int `yaml:"max_inbound_setup,omitempty"`
	MaxInboundCalls int `yaml:"max_inbound_calls,omitempty"`
}

// Trunk PRACK modes (trunks[].prack).
const (
	PrackSupported = "supported"
	PrackRequired  = "required"
	PrackOff       = "off"
)

// The trunks' srtp settings.
const (
	SRTPSDES = "sdes"
	SRTPOff  = "off"
)

// PlainMedia reports whether the trunk's calls keep plain RTP even over
// TLS (srtp: off).
func (t *Trunk) PlainMedia() bool { return t.SRTP == SRTPOff }

// PrackMode is the trunk's prack setting (default supported).
func (t *Trunk) PrackMode() string { return orStr(t.Prack, PrackSupported) }

// Trunk caller-ID modes.
const (
	CallerIDCaller = "caller"
	CallerIDOffice = "office"
)

// OutboundRoute matches dialled numbers to trunks.
type OutboundRoute struct {
	Pattern    string   `yaml:"pattern"`
	Strip      int      `yaml:"strip,omitempty"`
	Prepend    string   `yaml:"prepend,omitempty"`
	Trunks     []string `yaml:"trunks,flow"`
	Emergency  bool     `yaml:"emergency,omitempty"`
	Permission string   `yaml:"permission,omitempty"` // default national; a cap, never a grant
	// AllowSymbols lets numbers with * or # through to the trunk (carrier
	// feature codes); without it they never leave.
	AllowSymbols bool `yaml:"allow_symbols,omitempty"`
}

// Line binds an analog FXS port to an extension.
type Line struct {
	Port      string `yaml:"port"` // "fxs:N"
	Extension string `yaml:"extension"`
	// CallWaiting: a second call to the busy line plays the call-waiting
	// tone with the caller's ID; a hook flash answers it, holding the
	// first. Off (the default): the second caller gets busy.
	CallWaiting bool `yaml:"call_waiting,omitempty"`
}

// Prompt is an uploaded recording.
type Prompt struct {
	ID   string `yaml:"id"`
	File string `yaml:"file"`
}

// HoldMusic is a class of music on hold.
type HoldMusic struct {
	ID    string   `yaml:"id"`
	Files []string `yaml:"files,flow"`
	// Device names a live sound input instead of files (needs the cgo build).
	Device string `yaml:"device,omitempty"`
}

// Web roles.
const (
	RoleAdmin   = "admin"
	RoleManager = "manager"
	RoleAgent   = "agent"
)

// User is a web login.
type User struct {
	Login    string `yaml:"login"`
	Role     string `yaml:"role"`
	Agent    string `yaml:"agent,omitempty"`
	Password string `yaml:"password,omitempty"` // plain on import only; hashed and never exported
	// PasswordHash is set when the user comes from the database; never in YAML.
	PasswordHash string `yaml:"-"`
}

// Duration is a time.Duration written Go-style in YAML ("20s", "1m30s").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d the way the site file writes it.
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	s := time.Duration(d).String()
	// time.Duration prints "1m0s"; installers write "1m".
	if len(s) > 2 && s[len(s)-2:] == "0s" && s[len(s)-3] >= 'a' {
		s = s[:len(s)-2]
	}
	return s
}

// ParseDuration parses a Go-style duration that must not be negative.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (write it like 20s or 1m30s)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("bad duration %q: negative", s)
	}
	return Duration(d), nil
}

// Conference is a meet-me conference room (docs/site-file.md): callers
// dial its number from an extension, or reach it through a
// conference:ID destination, and talk together.
type Conference struct {
	ID string `yaml:"id"`
	// Number is dialled from extensions to join; "" keeps the room to
	// conference:ID destinations (IVR options, inbound routes).
	Number string `yaml:"number,omitempty"`
	// PIN, when set, is asked before joining; three wrong tries hang up.
	PIN string `yaml:"pin,omitempty"`
	// MaxMembers bounds the room (2-50); 0 means 10. A caller finding it
	// full hears busy tone.
	MaxMembers int `yaml:"max_members,omitempty"`
	// Announce is what the others hear when someone joins or leaves:
	// "tone" (the default: a rising beep in, a falling one out) or "none".
	Announce string `yaml:"announce,omitempty"`
	// MuteKey toggles the member's own mute; "" means *6.
	MuteKey string `yaml:"mute_key,omitempty"`
}

// Conference announce modes.
const (
	AnnounceTone = "tone"
	AnnounceNone = "none"
)

// Conference defaults and bounds.
const (
	DefaultConferenceMembers = 10
	MinConferenceMembers     = 2
	MaxConferenceMembers     = 50
	DefaultConferenceMuteKey = "*6"
)

// Members is the room's size limit (max_members, default 10).
func (c *Conference) Members() int {
	if c.MaxMembers == 0 {
		return DefaultConferenceMembers
	}
	return c.MaxMembers
}

// Tones reports whether joins and leaves are announced with tones.
func (c *Conference) Tones() bool { return c.Announce != AnnounceNone }

// Mute is the key sequence that toggles a member's mute (default *6).
func (c *Conference) Mute() string {
	if c.MuteKey == "" {
		return DefaultConferenceMuteKey
	}
	return c.MuteKey
}

// FindConference returns the room with id, or nil.
func (s *Site) FindConference(id string) *Conference {
	for i := range s.Conferences {
		if s.Conferences[i].ID == id {
			return &s.Conferences[i]
		}
	}
	return nil
}

// ConferenceByNumber returns the room dialled as number, or nil.
func (s *Site) ConferenceByNumber(number string) *Conference {
	if number == "" {
		return nil
	}
	for i := range s.Conferences {
		if s.Conferences[i].Number == number {
			return &s.Conferences[i]
		}
	}
	return nil
}
