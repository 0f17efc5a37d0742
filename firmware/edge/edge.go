// Package edge is the SIP edge filter: it decides, before a packet is
// parsed, whether the box listens to it at all. It keeps per-source rate
// limits for the methods a password guesser or flooder uses (REGISTER,
// INVITE, OPTIONS, SUBSCRIBE), drops the requests of known scanners
// without an answer, bans source addresses and target extensions after
// repeated authentication failures (kept across restarts through a
// [Store]), samples unparseable packets into the log, and counts TCP
// connections per source. It knows nothing of sockets or SIP parsing: the
// sip package calls [Filter.Allow] with each read and tells it the
// outcome of each authentication.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reason is why the filter dropped something; also the label of the drop
// counter in /metrics.
type Reason string

// The drop reasons.
const (
	DropRate        Reason = "rate"        // over a per-source method rate
	DropBanned      Reason = "banned"      // from a banned address, or for a banned extension
	DropScanner     Reason = "scanner"     // a scanner's User-Agent
	DropUnparseable Reason = "unparseable" // not SIP
	DropTCPLimit    Reason = "tcp_limit"   // a TCP connection over the per-source limit
	DropAllow       Reason = "allow"       // authenticated from outside the extension's allow list
)

// Reasons lists every drop reason, for the metrics.
var Reasons = []Reason{DropRate, DropBanned, DropScanner, DropUnparseable, DropTCPLimit, DropAllow}

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
type Rate struct {
	PerSecond float64
	Burst     float64
}

// DefaultRates are generous for a whole office behind one NAT (fifty
// phones booting at once register twice each, challenge and answer; a BLF
// phone subscribes to every key at boot) and far below a guesser's
// thousands per second.
var DefaultRates = map[Method]Rate{
	MethodRegister:  {PerSecond: 20, Burst: 200},
	MethodInvite:    {PerSecond: 10, Burst: 60},
	MethodOptions:   {PerSecond: 10, Burst: 60},
	MethodSubscribe: {PerSecond: 20, Burst: 300},
}

// Defaults of Config.
const (
	DefaultFailLimit       = 5
	DefaultFailWindow      = 10 * time.Minute
	DefaultBanFor          = time.Hour
	DefaultBanMax          = 7 * 24 * time.Hour
	DefaultRepeatMemory    = 24 * time.Hour
	DefaultMaxTCPPerSource = 64
	DefaultLogPerMinute    = 5
	DefaultLogGlobal       = 30
	// maxTracked bounds each table kept per source or per key (buckets,
	// failures): a flood from spoofed addresses resets a full table
	// rather than growing memory without limit.
	maxTracked = 100_000
	// ownerAddrs is how many addresses an extension last authenticated
	// from are remembered: they stay accepted while the extension is
	// banned.
	ownerAddrs = 4
)

// Ban is one ban: of a source address (Key "198.51.100.7") or of an
// extension as a target (Key "ext:1001").
type Ban struct {
	Key     string    `json:"key"`
	Reason  string    `json:"reason"`
	Count   int       `json:"count"`   // failures that tripped it
	Offence int       `json:"offence"` // 1 for a first ban, 2 for the next (twice as long)...
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	// Exempt are the addresses an extension ban still accepts the
	// extension from: those it last authenticated from.
	Exempt []netip.Addr `json:"exempt,omitempty"`
}

// IsExtension reports whether b bans an extension rather than an address.
func (b Ban) IsExtension() bool { return strings.HasPrefix(b.Key, extPrefix) }

const extPrefix = "ext:"

// ExtKey is the ban key of extension ext.
func ExtKey(ext string) string { return extPrefix + ext }

// Store keeps bans across restarts.
type Store interface {
	SaveBan(ctx context.Context, b Ban) error
	DeleteBan(ctx context.Context, key string) error
	LoadBans(ctx context.Context) ([]Ban, error)
}

// Policy is the part of the ban rules an installer sets in the site file
// (system.sip_ban_failures, sip_ban_window, sip_ban_time, sip_trusted);
// zero values get the defaults. [Filter.SetPolicy] changes it while the
// box runs.
type Policy struct {
	FailLimit  int           // failures in FailWindow that ban; default 5
	FailWindow time.Duration // default 10 min
	BanFor     time.Duration // a first ban; default 1 h, doubling for each repeat
	// Trusted networks are never rate-limited or banned, and their failed
	// authentications count towards no ban: an office LAN where one phone
	// with a stale password must not lock out the NAT address everyone
	// shares. Scanners are still dropped and allow lists still apply.
	Trusted []netip.Prefix
}

// withDefaults fills p's zero values.
func (p Policy) withDefaults() Policy {
	orDefault(&p.FailLimit, DefaultFailLimit)
	orDefault(&p.FailWindow, DefaultFailWindow)
	orDefault(&p.BanFor, DefaultBanFor)
	return p
}

// trusts reports whether addr is in a trusted network.
func (p *Policy) trusts(addr netip.Addr) bool {
	for _, n := range p.Trusted {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// orDefault sets *v to def when it is zero or negative.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Config configures a Filter; zero values get the defaults.
type Config struct {
	Policy       Policy        // the installer's rules; see [Filter.SetPolicy]
	BanMax       time.Duration // the longest ban; default 7 days
	RepeatMemory time.Duration // how long after a ban ends a new one counts as a repeat; default 24 h
	Rates        map[Method]Rate
	Scanners     []string // lower case; default DefaultScanners
	// MaxTCPPerSource bounds the TCP connections open from one address;
	// default 64.
	MaxTCPPerSource int
	// LogPerMinute and LogGlobal bound the log lines about unparseable
	// packets per source and overall per minute; defaults 5 and 30.
	LogPerMinute, LogGlobal int
	// AllowList gives an extension's allowed source networks (site
	// extensions[].allow); nil or empty: anywhere.
	AllowList func(ext string) []netip.Prefix
	// Exempt reports addresses never rate-limited (the trunks' carriers,
	// whose call rate is the office's); nil: none.
	Exempt func(netip.Addr) bool
	Store  Store // nil: bans are not kept across restarts
	// OnBan and OnLift are told of each new ban and each lift (by "" when
	// it expired); they publish events and write the audit log. Called
	// without the filter's locks.
	OnBan  func(Ban)
	OnLift func(b Ban, by string)
	Logger *slog.Logger
}

// Filter is the edge filter. Its methods are safe for concurrent use.
type Filter struct {
	cfg    Config
	log    *slog.Logger
	policy atomic.Pointer[Policy] // never nil; defaults filled

	mu       sync.RWMutex // protects the maps below
	bans     map[string]*Ban
	addrBans map[netip.Addr]time.Time // the address bans of bans, by address: the packet path's look-up
	extBans  int                      // bans of extensions among bans: the packet path looks at usernames only when > 0
	past     map[string]pastBan
	fails    map[string]*failures
	owners   map[string][]netip.Addr // extension -> addresses it last authenticated from
	bucketMu sync.Mutex
	buckets  map[bucketKey]*bucket
	connMu   sync.Mutex
	conns    map[netip.Addr]int

	unparse *sampler

	authFailures, bansTotal atomic.Uint64
	drops                   [6]atomic.Uint64 // by reasonIndex
}

var reasonIndex = map[Reason]int{DropRate: 0, DropBanned: 1, DropScanner: 2, DropUnparseable: 3, DropTCPLimit: 4, DropAllow: 5}

type pastBan struct {
	offence int
	ended   time.Time
}

type failures struct {
	times []time.Time // the last FailLimit failures, oldest first
}

type bucketKey struct {
	addr netip.Addr
	m    Method
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New makes a filter; [Filter.Restore] loads the stored bans.
func New(cfg Config) *Filter {
	orDefault(&cfg.BanMax, DefaultBanMax)
	orDefault(&cfg.RepeatMemory, DefaultRepeatMemory)
	if cfg.Rates == nil {
		cfg.Rates = DefaultRates
	}
	if cfg.Scanners == nil {
		cfg.Scanners = DefaultScanners
	}
	orDefault(&cfg.MaxTCPPerSource, DefaultMaxTCPPerSource)
	orDefault(&cfg.LogPerMinute, DefaultLogPerMinute)
	orDefault(&cfg.LogGlobal, DefaultLogGlobal)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("pkg", "edge")
	f := &Filter{
		cfg:      cfg,
		log:      log,
		bans:     make(map[string]*Ban),
		addrBans: make(map[netip.Addr]time.Time),
		past:     make(map[string]pastBan),
		fails:    make(map[string]*failures),
		owners:   make(map[string][]netip.Addr),
		buckets:  make(map[bucketKey]*bucket),
		conns:    make(map[netip.Addr]int),
		unparse:  newSampler(cfg.LogPerMinute, cfg.LogGlobal),
	}
	p := cfg.Policy.withDefaults()
	f.policy.Store(&p)
	return f
}

// SetPolicy puts the installer's rules in force at once (a site change):
// failures already counted are judged by the new limit and window, bans
// already in force keep their end, and address bans inside a network now
// trusted are lifted.
func (f *Filter) SetPolicy(ctx context.Context, p Policy) {
	p = p.withDefaults()
	f.policy.Store(&p)
	if len(p.Trusted) == 0 {
		return
	}
	var lift []string
	f.mu.RLock()
	for a := range f.addrBans {
		if p.trusts(a) {
			lift = append(lift, a.String())
		}
	}
	f.mu.RUnlock()
	for _, k := range lift {
		if _, err := f.Lift(ctx, k, "system.sip_trusted"); err != nil && !errors.Is(err, ErrNoBan) {
			f.log.Warn("ban of a trusted address not lifted", "key", k, "err", err)
		}
	}
}

func (f *Filter) drop(r Reason) bool {
	f.drops[reasonIndex[r]].Add(1)
	return false
}

// Allow is the read filter: it says whether the box should read msg,
// which came from src. It never parses msg: the method is its first
// token, the User-Agent and the credentials' username are found by
// scanning header lines.
func (f *Filter) Allow(src netip.AddrPort, msg []byte) bool {
	addr := src.Addr().Unmap()
	now := time.Now()
	pol := f.policy.Load()
	trusted := len(pol.Trusted) > 0 && pol.trusts(addr)
	f.mu.RLock()
	until, banned := f.addrBans[addr]
	extBans := f.extBans
	f.mu.RUnlock()
	if banned && now.Before(until) && !trusted {
		return f.drop(DropBanned)
	}
	m := SniffMethod(msg)
	if m == MethodOther {
		return true // responses and in-dialog requests: never limited here
	}
	if ScannerAgent(msg, f.cfg.Scanners) {
		return f.drop(DropScanner)
	}
	if trusted {
		return true
	}
	if f.cfg.Exempt == nil || !f.cfg.Exempt(addr) {
		if !f.take(addr, m, now) {
			return f.drop(DropRate)
		}
	}
	if extBans > 0 {
		if user := AuthUser(msg); user != "" && !f.extAccepts(user, addr, now) {
			return f.drop(DropBanned)
		}
	}
	return true
}

// take takes a token of m's bucket for addr.
func (f *Filter) take(addr netip.Addr, m Method, now time.Time) bool {
	r, ok := f.cfg.Rates[m]
	if !ok || r.PerSecond <= 0 {
		return true
	}
	k := bucketKey{addr, m}
	f.bucketMu.Lock()
	defer f.bucketMu.Unlock()
	b := f.buckets[k]
	if b == nil {
		if len(f.buckets) >= maxTracked {
			f.pruneBucketsLocked(now)
		}
		b = &bucket{tokens: r.Burst, last: now}
		f.buckets[k] = b
	}
	b.tokens = min(r.Burst, b.tokens+now.Sub(b.last).Seconds()*r.PerSecond)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// pruneBucketsLocked forgets buckets that have refilled (the same as no
// bucket at all); when that frees nothing, all of them. bucketMu held.
func (f *Filter) pruneBucketsLocked(now time.Time) {
	for k, b := range f.buckets {
		r := f.cfg.Rates[k.m]
		if b.tokens+now.Sub(b.last).Seconds()*r.PerSecond >= r.Burst {
			delete(f.buckets, k)
		}
	}
	if len(f.buckets) >= maxTracked {
		clear(f.buckets)
	}
}

// extAccepts says whether a request authenticating as ext from addr may
// be read: yes unless ext is banned, and even then from the addresses it
// last authenticated from and from its allow list.
func (f *Filter) extAccepts(ext string, addr netip.Addr, now time.Time) bool {
	f.mu.RLock()
	b, ok := f.bans[ExtKey(ext)]
	var exempt bool
	if ok {
		exempt = slices.Contains(b.Exempt, addr) || slices.Contains(f.owners[ext], addr)
	}
	f.mu.RUnlock()
	if !ok || !now.Before(b.Until) || exempt {
		return true
	}
	return f.inAllowList(ext, addr) == allowListed
}

type allowResult int

const (
	noAllowList allowResult = iota
	allowListed
	notAllowed
)

func (f *Filter) inAllowList(ext string, addr netip.Addr) allowResult {
	if f.cfg.AllowList == nil {
		return noAllowList
	}
	nets := f.cfg.AllowList(ext)
	if len(nets) == 0 {
		return noAllowList
	}
	for _, p := range nets {
		if p.Contains(addr) {
			return allowListed
		}
	}
	return notAllowed
}

// Permitted reports whether ext may authenticate from addr under its
// allow list. A refusal is counted as a drop (allow) and, by the caller,
// as a failed authentication.
func (f *Filter) Permitted(ext string, addr netip.Addr) bool {
	if f.inAllowList(ext, addr.Unmap()) == notAllowed {
		f.drop(DropAllow)
		return false
	}
	return true
}

// AuthOK records that ext authenticated from addr: the address stays
// accepted for ext should the extension be banned as a target.
func (f *Filter) AuthOK(addr netip.Addr, ext string) {
	addr = addr.Unmap()
	f.mu.RLock()
	cur := f.owners[ext]
	known := len(cur) > 0 && cur[0] == addr
	f.mu.RUnlock()
	if known {
		return // the common case: the phone refreshing from where it was
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o := slices.DeleteFunc(slices.Clone(f.owners[ext]), func(a netip.Addr) bool { return a == addr })
	o = append([]netip.Addr{addr}, o...)
	if len(o) > ownerAddrs {
		o = o[:ownerAddrs]
	}
	if len(f.owners) >= maxTracked {
		clear(f.owners)
	}
	f.owners[ext] = o
}

// AuthFailed records a failed authentication from addr as user (the
// extension guessed; "" when unknown): both the address and the
// extension move towards a ban.
func (f *Filter) AuthFailed(addr netip.Addr, user string) {
	f.authFailures.Add(1)
	addr = addr.Unmap()
	pol := f.policy.Load()
	if pol.trusts(addr) {
		return
	}
	now := time.Now()
	var newBans []Ban
	f.mu.Lock()
	if b := f.failLocked(pol, addr.String(), now, "authentication failures from this address"); b != nil {
		newBans = append(newBans, *b)
	}
	if user != "" && len(user) <= 64 {
		if b := f.failLocked(pol, ExtKey(user), now, "authentication failures for this extension"); b != nil {
			b.Exempt = slices.Clone(f.owners[user])
			newBans = append(newBans, *b)
		}
	}
	f.mu.Unlock()
	for _, b := range newBans {
		f.banned(b)
	}
}

// failLocked counts one failure for key and bans it when the window holds
// pol's FailLimit of them. f.mu held.
func (f *Filter) failLocked(pol *Policy, key string, now time.Time, why string) *Ban {
	if b, ok := f.bans[key]; ok && now.Before(b.Until) {
		return nil // already banned
	}
	fl := f.fails[key]
	if fl == nil {
		if len(f.fails) >= maxTracked {
			f.pruneFailsLocked(pol, now)
		}
		fl = &failures{}
		f.fails[key] = fl
	}
	fl.times = append(fl.times, now)
	if len(fl.times) > pol.FailLimit {
		fl.times = fl.times[len(fl.times)-pol.FailLimit:]
	}
	if len(fl.times) < pol.FailLimit || now.Sub(fl.times[0]) > pol.FailWindow {
		return nil
	}
	delete(f.fails, key)
	offence := 1
	if p, ok := f.past[key]; ok && now.Sub(p.ended) <= f.cfg.RepeatMemory {
		offence = p.offence + 1
	}
	b := &Ban{Key: key, Reason: why, Count: pol.FailLimit, Offence: offence, Since: now, Until: now.Add(f.banLength(pol, offence))}
	f.setBanLocked(b)
	f.bansTotal.Add(1)
	return b
}

// setBanLocked puts b in force, in place of any ban of its key. f.mu held.
func (f *Filter) setBanLocked(b *Ban) {
	f.deleteBanLocked(b.Key)
	f.bans[b.Key] = b
	if b.IsExtension() {
		f.extBans++
	} else if a, err := netip.ParseAddr(b.Key); err == nil {
		f.addrBans[a.Unmap()] = b.Until
	}
}

// deleteBanLocked removes key's ban. f.mu held.
func (f *Filter) deleteBanLocked(key string) {
	old, ok := f.bans[key]
	if !ok {
		return
	}
	delete(f.bans, key)
	if old.IsExtension() {
		f.extBans--
	} else if a, err := netip.ParseAddr(key); err == nil {
		delete(f.addrBans, a.Unmap())
	}
}

// banLength doubles pol's BanFor for each repeat, up to BanMax.
func (f *Filter) banLength(pol *Policy, offence int) time.Duration {
	d := pol.BanFor
	for i := 1; i < offence && d < f.cfg.BanMax; i++ {
		d *= 2
	}
	return min(d, f.cfg.BanMax)
}

func (f *Filter) pruneFailsLocked(pol *Policy, now time.Time) {
	for k, fl := range f.fails {
		if now.Sub(fl.times[len(fl.times)-1]) > pol.FailWindow {
			delete(f.fails, k)
		}
	}
	if len(f.fails) >= maxTracked {
		clear(f.fails)
	}
}

// banned stores and announces a new ban.
func (f *Filter) banned(b Ban) {
	f.log.Warn("sip ban", "key", b.Key, "reason", b.Reason, "offence", b.Offence, "until", b.Until.Format(time.RFC3339))
	if f.cfg.Store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := f.cfg.Store.SaveBan(ctx, b); err != nil {
			f.log.Error("sip ban not saved", "key", b.Key, "err", err)
		}
		cancel()
	}
	if f.cfg.OnBan != nil {
		f.cfg.OnBan(b)
	}
}

// Bans lists the bans in force, soonest to end first.
func (f *Filter) Bans() []Ban {
	now := time.Now()
	f.mu.RLock()
	out := make([]Ban, 0, len(f.bans))
	for _, b := range f.bans {
		if now.Before(b.Until) {
			c := *b
			c.Exempt = slices.Clone(b.Exempt)
			out = append(out, c)
		}
	}
	f.mu.RUnlock()
	slices.SortFunc(out, func(a, b Ban) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// ErrNoBan: Lift was given a key that is not banned.
var ErrNoBan = fmt.Errorf("no such ban")

// NormalizeKey checks a ban key as a person types it: an IP address
// (written canonically) or ext:NUMBER.
func NormalizeKey(key string) (string, error) {
	if ext, ok := strings.CutPrefix(key, extPrefix); ok {
		if ext == "" || len(ext) > 64 {
			return "", fmt.Errorf("ban key %q: want ext:NUMBER", key)
		}
		return key, nil
	}
	a, err := netip.ParseAddr(key)
	if err != nil {
		return "", fmt.Errorf("ban key %q: want an IP address or ext:NUMBER", key)
	}
	return a.Unmap().String(), nil
}

// Lift ends a ban now; by names who lifted it, for the audit log. The
// key's failures and repeat history are forgotten too: an administrator
// who lifts a ban forgives it.
func (f *Filter) Lift(ctx context.Context, key, by string) (Ban, error) {
	key, err := NormalizeKey(key)
	if err != nil {
		return Ban{}, err
	}
	now := time.Now()
	f.mu.Lock()
	b, ok := f.bans[key]
	if ok {
		f.deleteBanLocked(key)
	}
	delete(f.past, key)
	delete(f.fails, key)
	f.mu.Unlock()
	if !ok || !now.Before(b.Until) {
		return Ban{}, fmt.Errorf("%w: %s", ErrNoBan, key)
	}
	if f.cfg.Store != nil {
		if err := f.cfg.Store.DeleteBan(ctx, key); err != nil {
			return *b, fmt.Errorf("lift ban %s: %w", key, err)
		}
	}
	f.log.Info("sip ban lifted", "key", key, "by", by)
	if f.cfg.OnLift != nil {
		f.cfg.OnLift(*b, by)
	}
	return *b, nil
}

// Restore loads the stored bans: those still in force apply again, and
// recent ones count for the doubling.
func (f *Filter) Restore(ctx context.Context) error {
	if f.cfg.Store == nil {
		return nil
	}
	bans, err := f.cfg.Store.LoadBans(ctx)
	if err != nil {
		return fmt.Errorf("restore sip bans: %w", err)
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range bans {
		if now.Before(b.Until) {
			c := b
			f.setBanLocked(&c)
		} else {
			f.past[b.Key] = pastBan{offence: b.Offence, ended: b.Until}
		}
	}
	return nil
}

// Sweep ends the bans whose time is up and forgets stale state; Run calls
// it every minute.
func (f *Filter) Sweep(ctx context.Context) {
	now := time.Now()
	var ended []Ban
	var forget []string
	f.mu.Lock()
	for k, b := range f.bans {
		if !now.Before(b.Until) {
			f.deleteBanLocked(k)
			f.past[k] = pastBan{offence: b.Offence, ended: b.Until}
			ended = append(ended, *b)
		}
	}
	for k, p := range f.past {
		if now.Sub(p.ended) > f.cfg.RepeatMemory {
			delete(f.past, k)
			forget = append(forget, k)
		}
	}
	f.pruneFailsLocked(f.policy.Load(), now)
	f.mu.Unlock()
	f.bucketMu.Lock()
	f.pruneBucketsLocked(now)
	f.bucketMu.Unlock()
	for _, b := range ended {
		f.log.Info("sip ban ended", "key", b.Key)
		if f.cfg.OnLift != nil {
			f.cfg.OnLift(b, "")
		}
	}
	// The row of an ended ban stays while it counts for doubling, so a
	// restart does not forget a repeat offender.
	if f.cfg.Store != nil {
		for _, k := range forget {
			if err := f.cfg.Store.DeleteBan(ctx, k); err != nil {
				f.log.Warn("sip ban not deleted", "key", k, "err", err)
			}
		}
	}
}

// Run sweeps every minute until ctx ends.
func (f *Filter) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Sweep(ctx)
		}
	}
}

// AdmitConn counts a new TCP connection from addr: false when addr has
// MaxTCPPerSource open already (the caller closes it). Otherwise release
// must be called once when the connection closes.
func (f *Filter) AdmitConn(addr netip.Addr) (release func(), ok bool) {
	addr = addr.Unmap()
	f.mu.RLock()
	until, banned := f.addrBans[addr]
	f.mu.RUnlock()
	if banned && time.Now().Before(until) {
		return nil, f.drop(DropBanned)
	}
	f.connMu.Lock()
	defer f.connMu.Unlock()
	if f.conns[addr] >= f.cfg.MaxTCPPerSource {
		return nil, f.drop(DropTCPLimit)
	}
	f.conns[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			f.connMu.Lock()
			defer f.connMu.Unlock()
			if f.conns[addr]--; f.conns[addr] <= 0 {
				delete(f.conns, addr)
			}
		})
	}, true
}

// Unparseable counts a packet from src that is not SIP and logs a sample
// of them: at most LogPerMinute lines per source and LogGlobal in all
// each minute, the next line saying how many were left out.
func (f *Filter) Unparseable(src netip.Addr, err error, data []byte) {
	f.drop(DropUnparseable)
	ok, suppressed := f.unparse.allow(src.Unmap(), time.Now())
	if !ok {
		return
	}
	const show = 80
	head := data[:min(len(data), show)]
	attrs := []any{"src", src.String(), "bytes", len(data), "head", fmt.Sprintf("%q", head)}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	f.log.Warn("sip unparseable packet", attrs...)
}

// Stats are the filter's counters since start, for /metrics.
type Stats struct {
	AuthFailures uint64
	BansTotal    uint64
	BansActive   int
	Drops        map[Reason]uint64
}

// Stats reads the counters.
func (f *Filter) Stats() Stats {
	s := Stats{AuthFailures: f.authFailures.Load(), BansTotal: f.bansTotal.Load(), Drops: map[Reason]uint64{}}
	for r, i := range reasonIndex {
		s.Drops[r] = f.drops[i].Load()
	}
	now := time.Now()
	f.mu.RLock()
	for _, b := range f.bans {
		if now.Before(b.Until) {
			s.BansActive++
		}
	}
	f.mu.RUnlock()
	return s
}

// Drops is the count of drops for one reason.
func (f *Filter) Drops(r Reason) uint64 { return f.drops[reasonIndex[r]].Load() }

// BansActive is the number of bans in force.
func (f *Filter) BansActive() int { return f.Stats().BansActive }
