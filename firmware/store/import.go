package store

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"ringbox/firmware/site"
)

// Change summarises what an import changed, per kind of object, for the
// "config.changed" event and the audit log.
type Change struct {
	Version int64        `json:"version"` // config_version after the change
	Kinds   []KindChange `json:"kinds,omitempty"`
	// KeptUsers are the stored users the imported site did not list and
	// that were kept as they were, since the import did not ask to replace
	// the users ([ImportOptions.ReplaceUsers]). Keeping them is no change.
	KeptUsers []string `json:"kept_users,omitempty"`
}

// KindChange lists the ids of one kind of object that were added, removed
// or changed. Kind is the site file's key ("extensions", "queues", ...,
// "system"). Routes, which have no id, are named by their match or pattern.
type KindChange struct {
	Kind    string   `json:"kind"`
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Changed []string `json:"changed,omitempty"`
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool { return len(c.Kinds) == 0 }

// Kind returns the change for kind, or a zero KindChange.
func (c Change) Kind(kind string) KindChange {
	for _, k := range c.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	return KindChange{Kind: kind}
}

// ImportOptions adjust [Store.ImportSiteWith]. The zero value is
// [Store.ImportSite]'s behaviour.
type ImportOptions struct {
	// Base is the configuration version the caller's site was edited from.
	// When it is not 0 and another change was applied since, the import is
	// refused with a *StaleError (errors.Is ErrStale) and nothing changes.
	// 0 applies over whatever is current.
	Base int64
	// RestoredFrom is the version whose site is being applied again (from
	// [Store.VersionSite]); it is recorded with the new version. 0: none.
	RestoredFrom int64
	// Action is the audit row's action; "" means "config.import".
	Action string
	// ReplaceUsers makes the stored users exactly the site's: a stored user
	// the site does not list is removed. Without it such a user is kept as
	// it is (role, agent, password), after the site's users, and named in
	// Change.KeptUsers, so that a site file written without a users:
	// section, or by someone who did not know of a login, deletes nobody.
	// Callers holding the whole stored site plus edits (the console's
	// drafts and version restores) set it; file imports set it only when
	// asked (`ringbox import --replace-users`).
	//
	// Either way an import that would leave no admin while one is stored
	// is refused with a *LastAdminError (errors.Is ErrLastAdmin).
	ReplaceUsers bool
}

// ErrLastAdmin is what an import that would remove every admin is refused
// with (see [LastAdminError]).
var ErrLastAdmin = errors.New("the import removes every admin")

// LastAdminError refuses an import whose users would leave the box without
// an admin while it has one: nobody could manage it any more, and first-
// boot setup does not come back ([Store.SetupDone]).
type LastAdminError struct {
	Stored  []string // the admins stored now
	Demoted []string // those of them the site lists with another role
	Replace bool     // the import replaced the users (ReplaceUsers)
}

func (e *LastAdminError) Error() string {
	msg := fmt.Sprintf("%v (stored: %s); keep an admin in users: (role: admin)", ErrLastAdmin, strings.Join(e.Stored, ", "))
	switch {
	case len(e.Demoted) > 0:
		msg += fmt.Sprintf(", or keep the role of %s", strings.Join(e.Demoted, ", "))
	case e.Replace:
		msg += ", or import without replacing the users, which keeps the stored ones"
	}
	return msg + "; nothing was changed"
}

// Is makes errors.Is(err, ErrLastAdmin) true.
func (e *LastAdminError) Is(target error) bool { return target == ErrLastAdmin }

// KeptUserError refuses an import that does not list a stored user, which
// would therefore be kept, while removing the agent that user belongs to.
type KeptUserError struct {
	Login, Agent string
}

func (e *KeptUserError) Error() string {
	return fmt.Sprintf("users: %s is not in the site and would be kept, but it belongs to agent %q, which the site removes: "+
		"list %s under users: (with another agent, or none for an admin), or replace the users; nothing was changed", e.Login, e.Agent, e.Login)
}

// ImportSite replaces the whole configuration with st in one transaction:
// on any error nothing stored changes. It does not rely on st having been
// validated: the schema's keys and foreign keys reject what cannot be
// stored, and the error names the object.
//
// Users' passwords are bcrypt-hashed; a user without a password keeps the
// stored hash (a new user without one is an error). Stored users st does
// not list are kept (see [ImportOptions.ReplaceUsers]), and an import that
// would leave no admin while one is stored is refused ([ErrLastAdmin]). Secrets left empty in st
// (extension secret, agent PIN, mailbox PIN, trunk password, SMTP password)
// keep the stored value of the same object, so exporting without secrets and
// importing again wipes nothing; a secret therefore cannot be cleared through
// a site file. Import bumps the config version, records the new version's
// site (see [Store.ListVersions]) and writes one audit row (whose detail
// names the users kept, and the first admin when the import gives the box
// its first: see [Store.SetupDone]).
//
// ImportSite is ImportSiteWith with zero options.
func (s *Store) ImportSite(ctx context.Context, st *site.Site, actor string) (Change, error) {
	return s.ImportSiteWith(ctx, st, actor, ImportOptions{})
}

// ImportSiteWith is [Store.ImportSite] with options: an apply over a known
// base version (refused with a *StaleError if another change came first),
// the version being restored, and the audit action.
//
// A user in st with PasswordHash set and no Password gets that hash, so
// that applying a site from [Store.VersionSite] gives every login back its
// password of the time. The hash must be a bcrypt hash. Without a Base or
// RestoredFrom, though, a user that exists keeps the stored hash, as with
// ImportSite: a caller that exported the site before someone changed a
// password would otherwise put the old password back unnoticed.
func (s *Store) ImportSiteWith(ctx context.Context, st *site.Site, actor string, o ImportOptions) (Change, error) {
	if st == nil {
		return Change{}, errors.New("store: import: no site")
	}
	if o.Action == "" {
		o.Action = "config.import"
	}
	if o.Base != 0 {
		// Refuse a stale apply before spending bcrypt time on it; the
		// check that counts is the one inside the transaction.
		if cur, err := s.ConfigVersion(ctx); err == nil && cur != o.Base {
			if err := staleError(ctx, s.r, o.Base, cur); err != nil {
				return Change{}, fmt.Errorf("store: import into %s: %w", s.path, err)
			}
		}
	}
	// Hash the passwords before taking the write lock: bcrypt takes tens of
	// milliseconds per user. A password equal to the stored one keeps its
	// hash, so importing the same file twice changes nothing.
	stored, err := s.storedHashes(ctx, st.Users)
	if err != nil {
		return Change{}, err
	}
	hashes, err := s.hashPasswords(st.Users, stored)
	if err != nil {
		return Change{}, fmt.Errorf("store: import: %w", err)
	}
	trustHashes := o.Base != 0 || o.RestoredFrom != 0
	var ch Change
	err = s.inDurableTx(ctx, func(tx *sql.Tx) error {
		if o.Base != 0 {
			var cur int64
			if err := tx.QueryRowContext(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&cur); err != nil {
				return fmt.Errorf("read config version: %w", err)
			}
			if cur != o.Base {
				return staleError(ctx, tx, o.Base, cur)
			}
		}
		// Re-read inside the transaction: another process may have
		// imported since.
		old, err := exportSite(ctx, tx)
		if err != nil {
			return err
		}
		in, kept, keptErr := st, []string(nil), error(nil)
		if !o.ReplaceUsers {
			in, kept, keptErr = keepAbsentUsers(st, old)
		}
		next, err := s.mergeSecrets(in, old, hashes, trustHashes)
		if err != nil {
			return err
		}
		// The users' checks come after the rows are written (and rolled
		// back with them), so that a site's own mistakes, which name the
		// object and field, are reported first.
		if err := s.replaceConfig(ctx, tx, next, old); err != nil {
			return err
		}
		if keptErr != nil {
			return keptErr
		}
		if err := checkAdmins(old, next, o.ReplaceUsers); err != nil {
			return err
		}
		ch = diffSites(old, next)
		ch.KeptUsers = kept
		if ch.Version, err = s.bumpConfig(ctx, tx); err != nil {
			return err
		}
		// Agents and hunt groups that are gone take their runtime state
		// with them.
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_status WHERE agent NOT IN (SELECT id FROM agents)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM hunt_state WHERE group_id NOT IN (SELECT id FROM hunt_groups)`); err != nil {
			return err
		}
		if err := s.insertVersion(ctx, tx, next, actor, s.now(), ch, o.RestoredFrom); err != nil {
			return err
		}
		// The import that gives the box its first admin says so in its
		// audit row: that is how SetupDone knows an admin existed.
		var first string
		if firstAdmin(old) == "" {
			first = firstAdmin(next)
		}
		detail, _ := json.Marshal(struct {
			Change
			FirstAdmin string `json:"first_admin,omitempty"`
		}{ch, first})
		return s.insertAudit(ctx, tx, AuditEntry{Actor: actor, Action: o.Action, Object: "site", Detail: string(detail)})
	})
	if err != nil {
		return Change{}, fmt.Errorf("store: import into %s: %w", s.path, err)
	}
	s.log.Info("site imported", "actor", actor, "version", ch.Version, "kinds", len(ch.Kinds), "restored_from", o.RestoredFrom,
		"kept_users", len(ch.KeptUsers))
	return ch, nil
}

// keepAbsentUsers returns st with the users of old (the stored site) that
// st does not list appended as they are stored, and their logins. A kept
// user bound to an agent that st removes is an error (a *KeptUserError,
// returned with the rest kept so that the caller can report the site's
// own mistakes first): unbinding it would silently change what it sees,
// and the user is not in the file to fix.
func keepAbsentUsers(st, old *site.Site) (*site.Site, []string, error) {
	var keptErr error
	listed := make(map[string]bool, len(st.Users))
	for _, u := range st.Users {
		listed[u.Login] = true
	}
	var kept []string
	users := st.Users
	for _, u := range old.Users {
		if listed[u.Login] {
			continue
		}
		if u.Agent != "" && !slices.ContainsFunc(st.Agents, func(a site.Agent) bool { return a.ID == u.Agent }) {
			if keptErr == nil {
				keptErr = &KeptUserError{Login: u.Login, Agent: u.Agent}
			}
			continue
		}
		if kept == nil {
			users = slices.Clone(st.Users)
		}
		users = append(users, u)
		kept = append(kept, u.Login)
	}
	if kept == nil {
		return st, nil, keptErr
	}
	n := *st
	n.Users = users
	return &n, kept, keptErr
}

// firstAdmin returns the login of st's first admin, or "".
func firstAdmin(st *site.Site) string {
	for _, u := range st.Users {
		if u.Role == site.RoleAdmin {
			return u.Login
		}
	}
	return ""
}

// checkAdmins refuses next (the users as they will be stored) when it has
// no admin and old, the stored site, has one.
func checkAdmins(old, next *site.Site, replace bool) error {
	if firstAdmin(next) != "" {
		return nil
	}
	e := &LastAdminError{Replace: replace}
	role := map[string]string{}
	for _, u := range next.Users {
		role[u.Login] = u.Role
	}
	for _, u := range old.Users {
		if u.Role != site.RoleAdmin {
			continue
		}
		e.Stored = append(e.Stored, u.Login)
		if role[u.Login] != "" {
			e.Demoted = append(e.Demoted, u.Login)
		}
	}
	if len(e.Stored) == 0 {
		return nil
	}
	return e
}

// storedHashes returns login -> stored password hash, read only when a
// user carries a password to compare with it.
func (s *Store) storedHashes(ctx context.Context, users []site.User) (map[string]string, error) {
	m := map[string]string{}
	if !slices.ContainsFunc(users, func(u site.User) bool { return u.Password != "" }) {
		return m, nil
	}
	err := rowsEach(ctx, s.r, `SELECT login, password_hash FROM users`, func(r *sql.Rows) error {
		var login, h string
		if err := r.Scan(&login, &h); err != nil {
			return err
		}
		m[login] = h
		return nil
	})
	if err != nil {
		return nil, s.errf("read password hashes", err)
	}
	return m, nil
}

func userHashes(st *site.Site) map[string]string {
	m := map[string]string{}
	for _, u := range st.Users {
		m[u.Login] = u.PasswordHash
	}
	return m
}

// hashPasswords returns login -> bcrypt hash for the users that carry a
// password, reusing the stored hash when the password matches it.
func (s *Store) hashPasswords(users []site.User, stored map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for i, u := range users {
		if u.Password == "" {
			continue
		}
		if h := stored[u.Login]; h != "" && bcrypt.CompareHashAndPassword([]byte(h), []byte(u.Password)) == nil {
			out[u.Login] = h
			continue
		}
		h, err := bcrypt.GenerateFromPassword([]byte(u.Password), s.bcryptCost)
		if err != nil {
			return nil, fmt.Errorf("users[%d] %s: hash password: %w", i, u.Login, err)
		}
		out[u.Login] = string(h)
	}
	return out, nil
}

// mergeSecrets returns a copy of st as it will be stored: omitted secrets
// filled in from old, passwords replaced by hashes.
//
// A user with PasswordHash set and no Password gets that hash when
// trustHashes is set, or when it has no stored hash; otherwise it keeps
// the stored one (see ImportSiteWith).
func (s *Store) mergeSecrets(st, old *site.Site, hashes map[string]string, trustHashes bool) (*site.Site, error) {
	n := *st
	if n.System.SMTP != nil {
		smtp := *n.System.SMTP
		if smtp.Password == "" && old.System.SMTP != nil {
			smtp.Password = old.System.SMTP.Password
		}
		n.System.SMTP = &smtp
	}
	oldExt := map[string]string{}
	for _, x := range old.Extensions {
		oldExt[x.Number] = x.Secret
	}
	n.Extensions = slices.Clone(st.Extensions)
	for i := range n.Extensions {
		if x := &n.Extensions[i]; x.Secret == "" {
			x.Secret = oldExt[x.Number]
		}
	}
	keepDISAPINs(old, &n)
	oldVMPIN := map[string]string{}
	for _, x := range old.Extensions {
		oldVMPIN[x.Number] = x.VoicemailPIN
	}
	for i := range n.Extensions {
		if x := &n.Extensions[i]; x.VoicemailPIN == "" {
			x.VoicemailPIN = oldVMPIN[x.Number]
		}
	}
	oldPIN := map[string]string{}
	for _, x := range old.Agents {
		oldPIN[x.ID] = x.PIN
	}
	n.Agents = slices.Clone(st.Agents)
	for i := range n.Agents {
		if x := &n.Agents[i]; x.PIN == "" {
			x.PIN = oldPIN[x.ID]
		}
	}
	oldBox := map[string]string{}
	for _, x := range old.Voicemail {
		oldBox[x.Box] = x.PIN
	}
	n.Voicemail = slices.Clone(st.Voicemail)
	for i := range n.Voicemail {
		if x := &n.Voicemail[i]; x.PIN == "" {
			x.PIN = oldBox[x.Box]
		}
	}
	oldTrunk := map[string]string{}
	for _, x := range old.Trunks {
		oldTrunk[x.ID] = x.Password
	}
	n.Trunks = slices.Clone(st.Trunks)
	for i := range n.Trunks {
		if x := &n.Trunks[i]; x.Password == "" {
			x.Password = oldTrunk[x.ID]
		}
	}
	keepTrunkAuthSecrets(old, &n) // trunkid.go
	oldHash := userHashes(old)
	n.Users = slices.Clone(st.Users)
	for i := range n.Users {
		u := &n.Users[i]
		switch {
		case u.Password != "":
			h := hashes[u.Login]
			if h != oldHash[u.Login] && bcrypt.CompareHashAndPassword([]byte(oldHash[u.Login]), []byte(u.Password)) == nil {
				h = oldHash[u.Login] // stored concurrently with the same password
			}
			if h == "" { // the user appeared since hashPasswords ran
				b, err := bcrypt.GenerateFromPassword([]byte(u.Password), s.bcryptCost)
				if err != nil {
					return nil, fmt.Errorf("users[%d] %s: hash password: %w", i, u.Login, err)
				}
				h = string(b)
			}
			u.PasswordHash = h
		case u.PasswordHash != "" && (trustHashes || oldHash[u.Login] == ""):
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				return nil, fmt.Errorf("users[%d] %s: password hash: %w", i, u.Login, err)
			}
		case oldHash[u.Login] != "":
			u.PasswordHash = oldHash[u.Login]
		default:
			return nil, fmt.Errorf("users[%d]: new user %s needs a password", i, u.Login)
		}
		u.Password = ""
	}
	return &n, nil
}

// ha1 computes the SIP digest HA1 values of an extension.
func ha1(number, realm, secret string) (md5hex, sha256hex string) {
	if secret == "" {
		return "", ""
	}
	in := number + ":" + realm + ":" + secret
	m := md5.Sum([]byte(in))
	h := sha256.Sum256([]byte(in))
	return hex.EncodeToString(m[:]), hex.EncodeToString(h[:])
}

// configTables are the tables replaceConfig rewrites, children with plain
// (non-cascading) references to another kind first, each with the site
// file's key of its kind.
var configTables = []struct{ table, kind string }{
	{"inbound_routes", "inbound"}, {"outbound_routes", "outbound"}, {"queues", "queues"},
	{"ring_groups", "ring_groups"}, {"hunt_groups", "hunt_groups"}, {"ivrs", "ivrs"},
	{"announcements", "announcements"}, {"schedules", "schedules"}, {"voicemail_boxes", "voicemail"},
	{"trunks", "trunks"}, {"lines", "lines"}, {"prompts", "prompts"}, {"hold_music", "hold_music"},
	{"agents", "agents"}, {"extensions", "extensions"}, {"conferences", "conferences"},
}

// rewriteKinds returns the kinds of objects replaceConfig must delete and
// insert again to store next over old (the stored configuration): those
// whose list differs in any field or in order, and those that reference a
// rewritten kind through a plain foreign key (queue agents name agents,
// inbound routes schedules, outbound routes trunks), since deleting the
// referenced rows would fail. Rewriting only these is what keeps a
// one-field apply of a large site fast (BenchmarkImportOneFieldChange);
// old nil means everything.
func (s *Store) rewriteKinds(ctx context.Context, tx *sql.Tx, old, next *site.Site) (map[string]bool, error) {
	all := map[string]bool{}
	for _, t := range configTables {
		all[t.kind] = true
	}
	if old == nil {
		return all, nil
	}
	same := func(a, b any) bool { return reflect.DeepEqual(a, b) }
	dirty := map[string]bool{
		"extensions":    !same(normalize(old.Extensions), normalize(next.Extensions)),
		"agents":        !same(normalize(old.Agents), normalize(next.Agents)),
		"ring_groups":   !same(normalize(old.RingGroups), normalize(next.RingGroups)),
		"hunt_groups":   !same(normalize(old.HuntGroups), normalize(next.HuntGroups)),
		"queues":        !same(normalize(old.Queues), normalize(next.Queues)),
		"ivrs":          !same(normalize(old.IVRs), normalize(next.IVRs)),
		"announcements": !same(normalize(old.Announcements), normalize(next.Announcements)),
		"schedules":     !same(normalize(old.Schedules), normalize(next.Schedules)),
		"inbound":       !same(normalize(old.Inbound), normalize(next.Inbound)),
		"voicemail":     !same(normalize(old.Voicemail), normalize(next.Voicemail)),
		"trunks":        !same(normalize(old.Trunks), normalize(next.Trunks)),
		"outbound":      !same(normalize(old.Outbound), normalize(next.Outbound)),
		"lines":         !same(normalize(old.Lines), normalize(next.Lines)),
		"conferences":   !same(normalize(old.Conferences), normalize(next.Conferences)),
		"prompts":       !same(normalize(old.Prompts), normalize(next.Prompts)),
		"hold_music":    !same(normalize(old.HoldMusic), normalize(next.HoldMusic)),
	}
	if len(dirty) != len(all) {
		return nil, errors.New("rewriteKinds does not cover every table") // a kind added to one list only
	}
	if !dirty["extensions"] {
		// HA1 values stored for another realm (another process's, or an
		// older firmware's) are brought to this store's realm by an import.
		var stale bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM extensions WHERE ha1_realm != ?
			OR (secret != '' AND (ha1_md5 = '' OR ha1_sha256 = '')))`, s.realm).Scan(&stale); err != nil {
			return nil, fmt.Errorf("check extension digests: %w", err)
		}
		dirty["extensions"] = stale
	}
	dirty["queues"] = dirty["queues"] || dirty["agents"]
	dirty["inbound"] = dirty["inbound"] || dirty["schedules"]
	dirty["outbound"] = dirty["outbound"] || dirty["trunks"]
	return dirty, nil
}

// replaceConfig stores st over old (the stored configuration; nil: unknown):
// the system row and the users are updated, and the rows of every kind of
// object that changed are deleted and inserted again. Users are updated in
// place rather than re-inserted so that their sessions survive.
func (s *Store) replaceConfig(ctx context.Context, tx *sql.Tx, st, old *site.Site) error {
	dirty, err := s.rewriteKinds(ctx, tx, old, st)
	if err != nil {
		return err
	}
	for _, t := range configTables {
		if !dirty[t.kind] {
			continue
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.table); err != nil {
			return fmt.Errorf("clear %s: %w", t.table, err)
		}
	}
	ex := func(what string, query string, args ...any) error {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	sys := st.System
	smtp := site.SMTP{}
	if sys.SMTP != nil {
		smtp = *sys.SMTP
	}
	if err := ex("system", `UPDATE system SET site_version = ?, name = ?, timezone = ?, tone_zone = ?, office_number = ?,
		language = ?, loop_limit = ?, loop_to = ?, sip_digest = ?, smtp_set = ?, smtp_host = ?, smtp_from = ?, smtp_username = ?,
		smtp_password = ?, transfer_recall_ns = ?, park_slots = ?, park_timeout_ns = ? WHERE id = 1`, st.Version, sys.Name, sys.Timezone, sys.ToneZone, sys.OfficeNumber,
		sys.Language, sys.LoopLimit, sys.LoopTo, strings.Join(sys.SIPDigest, ","), b2i(sys.SMTP != nil), smtp.Host, smtp.From, smtp.Username, smtp.Password,
		int64(sys.TransferRecall), sys.ParkSlots, int64(sys.ParkTimeout)); err != nil {
		return err
	}
	if dirty["extensions"] {
		for i, x := range st.Extensions {
			m, h := ha1(x.Number, s.realm, x.Secret)
			if err := ex(fmt.Sprintf("extensions[%d] %s", i, x.Number), `INSERT INTO extensions (number, pos, name, secret,
				ha1_realm, ha1_md5, ha1_sha256, voicemail, email, hunt_blocked, permission, dnd, pickup_group) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				x.Number, i, x.Name, x.Secret, s.realm, m, h, x.Voicemail, x.Email, x.HuntBlocked, x.Permission, x.DND, x.PickupGroup); err != nil {
				return err
			}
		}
		// Mailbox PINs (migration 0012), apart so the insert above stays
		// as other columns grow.
		for i, x := range st.Extensions {
			if x.VoicemailPIN == "" {
				continue
			}
			if err := ex(fmt.Sprintf("extensions[%d] %s: voicemail_pin", i, x.Number), `UPDATE extensions SET voicemail_pin = ? WHERE number = ?`,
				x.VoicemailPIN, x.Number); err != nil {
				return err
			}
		}
	}
	if err := ex("system: voicemail_pin_required", `UPDATE system SET voicemail_pin_required = ? WHERE id = 1`, b2i(sys.VoicemailPINRequired)); err != nil {
		return err
	}
	if dirty["agents"] {
		for i, x := range st.Agents {
			what := fmt.Sprintf("agents[%d] %s", i, x.ID)
			if err := ex(what, `INSERT INTO agents (id, pos, name, extension, mobile, ring_preference, mobile_after_ns, role,
				auto_login, button, pin, wrapup_after_all_calls, wrapup_ns) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, x.ID, i, x.Name, x.Extension, x.Mobile,
				x.RingPreference, int64(x.MobileAfter), x.Role, x.AutoLogin, x.Button, x.PIN, x.WrapupAfterAllCalls, int64(x.Wrapup)); err != nil {
				return err
			}
			for j, h := range x.Hours {
				if err := ex(fmt.Sprintf("%s: hours[%d]", what, j), `INSERT INTO agent_hours (agent_id, pos, days, from_hm, to_hm)
					VALUES (?,?,?,?,?)`, x.ID, j, h.Days, h.From, h.To); err != nil {
					return err
				}
			}
		}
		// reports_to points at other agents, which now all exist.
		for i, x := range st.Agents {
			if x.ReportsTo == "" {
				continue
			}
			if err := ex(fmt.Sprintf("agents[%d] %s: reports_to %q", i, x.ID, x.ReportsTo),
				`UPDATE agents SET reports_to = ? WHERE id = ?`, x.ReportsTo, x.ID); err != nil {
				return err
			}
		}
	}
	if dirty["prompts"] {
		for i, x := range st.Prompts {
			if err := ex(fmt.Sprintf("prompts[%d] %s", i, x.ID), `INSERT INTO prompts (id, pos, file) VALUES (?,?,?)`,
				x.ID, i, x.File); err != nil {
				return err
			}
		}
	}
	if dirty["hold_music"] {
		for i, x := range st.HoldMusic {
			what := fmt.Sprintf("hold_music[%d] %s", i, x.ID)
			if err := ex(what, `INSERT INTO hold_music (id, pos, device) VALUES (?,?,?)`, x.ID, i, x.Device); err != nil {
				return err
			}
			for j, f := range x.Files {
				if err := ex(fmt.Sprintf("%s: files[%d]", what, j), `INSERT INTO hold_music_files (class_id, pos, file) VALUES (?,?,?)`,
					x.ID, j, f); err != nil {
					return err
				}
			}
		}
	}
	if dirty["schedules"] {
		for i, x := range st.Schedules {
			what := fmt.Sprintf("schedules[%d] %s", i, x.ID)
			if err := ex(what, `INSERT INTO schedules (id, pos, name) VALUES (?,?,?)`, x.ID, i, x.Name); err != nil {
				return err
			}
			for j, r := range x.Open {
				if err := ex(fmt.Sprintf("%s: open[%d]", what, j), `INSERT INTO schedule_ranges (schedule_id, pos, days, from_hm, to_hm)
					VALUES (?,?,?,?,?)`, x.ID, j, r.Days, r.From, r.To); err != nil {
					return err
				}
			}
			for j, d := range x.Holidays {
				if err := ex(fmt.Sprintf("%s: holidays[%d]", what, j), `INSERT INTO schedule_holidays (schedule_id, pos, day)
					VALUES (?,?,?)`, x.ID, j, d); err != nil {
					return err
				}
			}
		}
	}
	if dirty["trunks"] {
		for i, x := range st.Trunks {
			if err := ex(fmt.Sprintf("trunks[%d] %s", i, x.ID), `INSERT INTO trunks (id, pos, host, transport, username, password,
				register, fxo, caller_id, office_number, silence_timeout_ns, prack, srtp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, x.ID, i, x.Host, x.Transport, x.Username, x.Password,
				x.Register, x.FXO, x.CallerID, x.OfficeNumber, int64(x.SilenceTimeout), x.Prack, x.SRTP); err != nil {
				return err
			}
		}
	}
	if dirty["ring_groups"] {
		for i, x := range st.RingGroups {
			what := fmt.Sprintf("ring_groups[%d] %s", i, x.ID)
			if err := ex(what, `INSERT INTO ring_groups (id, pos, name, repeat, cid_prefix, confirm, music, no_answer, ring_unavailable_agents)
				VALUES (?,?,?,?,?,?,?,?,?)`, x.ID, i, x.Name, x.Repeat, x.CIDPrefix, x.Confirm, x.Music, x.NoAnswer, x.RingUnavailableAgents); err != nil {
				return err
			}
			for j, sg := range x.Stages {
				if err := ex(fmt.Sprintf("%s: stages[%d]", what, j), `INSERT INTO ring_group_stages (group_id, stage, for_ns)
					VALUES (?,?,?)`, x.ID, j, int64(sg.For)); err != nil {
					return err
				}
				for k, m := range sg.Ring {
					if err := ex(fmt.Sprintf("%s: stages[%d].ring[%d]", what, j, k), `INSERT INTO ring_group_stage_members
						(group_id, stage, pos, member) VALUES (?,?,?,?)`, x.ID, j, k, m); err != nil {
						return err
					}
				}
			}
		}
	}
	if dirty["hunt_groups"] {
		for i, x := range st.HuntGroups {
			what := fmt.Sprintf("hunt_groups[%d] %s", i, x.ID)
			if err := ex(what, `INSERT INTO hunt_groups (id, pos, name, strategy, ring_ns, no_answer, ring_unavailable_agents) VALUES (?,?,?,?,?,?,?)`,
				x.ID, i, x.Name, x.Strategy, int64(x.Ring), x.NoAnswer, x.RingUnavailableAgents); err != nil {
				return err
			}
			for j, m := range x.Members {
				if err := ex(fmt.Sprintf("%s: members[%d]", what, j), `INSERT INTO hunt_group_members (group_id, pos, member)
					VALUES (?,?,?)`, x.ID, j, m); err != nil {
					return err
				}
			}
		}
	}
	if dirty["queues"] {
		for i, x := range st.Queues {
			what := fmt.Sprintf("queues[%d] %s", i, x.ID)
			var every site.Duration
			if x.Comfort != nil {
				every = x.Comfort.Every
			}
			if err := ex(what, `INSERT INTO queues (id, pos, name, strategy, agent_ring_ns, wrapup_ns, confirm, max_no_answer,
				retry_delay_ns, max_wait_ns, on_timeout, on_empty, hold_music, comfort_set, comfort_every_ns,
				announce_position_ns, level_wait_ns, service_level_ns, exit_key, exit_to, led)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, x.ID, i, x.Name, x.Strategy, int64(x.AgentRing),
				int64(x.Wrapup), x.Confirm, x.MaxNoAnswer, int64(x.RetryDelay), int64(x.MaxWait), x.OnTimeout, x.OnEmpty,
				x.HoldMusic, x.Comfort != nil, int64(every), int64(x.AnnouncePosition), int64(x.LevelWait),
				int64(x.ServiceLevel), x.ExitKey, x.ExitTo, x.LED); err != nil {
				return err
			}
			for j, a := range x.Agents {
				if err := ex(fmt.Sprintf("%s: agents[%d] %q", what, j, a.Agent), `INSERT INTO queue_agents (queue_id, pos, agent_id, level)
					VALUES (?,?,?,?)`, x.ID, j, a.Agent, a.Level); err != nil {
					return err
				}
			}
			if x.Comfort != nil {
				for j, p := range x.Comfort.Prompts {
					if err := ex(fmt.Sprintf("%s: comfort.prompts[%d]", what, j), `INSERT INTO queue_comfort_prompts (queue_id, pos, prompt)
						VALUES (?,?,?)`, x.ID, j, p); err != nil {
						return err
					}
				}
			}
		}
	}
	if dirty["ivrs"] {
		for i, x := range st.IVRs {
			what := fmt.Sprintf("ivrs[%d] %s", i, x.ID)
			if err := ex(what, `INSERT INTO ivrs (id, pos, name, greeting, direct_dial, timeout_ns, digit_timeout_ns, retries,
				timeout_retries, invalid, on_invalid, on_timeout) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, x.ID, i, x.Name,
				x.Greeting, x.DirectDial, int64(x.Timeout), int64(x.DigitTimeout), x.Retries, x.TimeoutRetries, x.Invalid,
				x.OnInvalid, x.OnTimeout); err != nil {
				return err
			}
			for k, d := range x.Options {
				if err := ex(fmt.Sprintf("%s: options[%q]", what, k), `INSERT INTO ivr_options (ivr_id, key, destination)
					VALUES (?,?,?)`, x.ID, k, d); err != nil {
					return err
				}
			}
		}
	}
	if dirty["announcements"] {
		for i, x := range st.Announcements {
			if err := ex(fmt.Sprintf("announcements[%d] %s", i, x.ID), `INSERT INTO announcements (id, pos, prompt, record, next)
				VALUES (?,?,?,?,?)`, x.ID, i, x.Prompt, x.Record, x.Next); err != nil {
				return err
			}
		}
	}
	if dirty["inbound"] {
		for i, x := range st.Inbound {
			if err := ex(fmt.Sprintf("inbound[%d] %s (when %q)", i, x.Match, x.When), `INSERT INTO inbound_routes
				(pos, match, schedule_id, destination, otherwise) VALUES (?,?,?,?,?)`, i, x.Match, nullStr(x.When), x.To,
				x.Otherwise); err != nil {
				return err
			}
		}
	}
	if dirty["voicemail"] {
		for i, x := range st.Voicemail {
			if err := ex(fmt.Sprintf("voicemail[%d] %s", i, x.Box), `INSERT INTO voicemail_boxes (box, pos, name, email, greeting,
				max_length_ns, min_length_ns, pin) VALUES (?,?,?,?,?,?,?,?)`, x.Box, i, x.Name, x.Email, x.Greeting,
				int64(x.MaxLength), int64(x.MinLength), x.PIN); err != nil {
				return err
			}
		}
	}
	if dirty["outbound"] {
		for i, x := range st.Outbound {
			what := fmt.Sprintf("outbound[%d] %s", i, x.Pattern)
			if err := ex(what, `INSERT INTO outbound_routes (pos, pattern, strip, prepend, emergency, permission)
				VALUES (?,?,?,?,?,?)`, i, x.Pattern, x.Strip, x.Prepend, x.Emergency, x.Permission); err != nil {
				return err
			}
			for j, t := range x.Trunks {
				if err := ex(fmt.Sprintf("%s: trunks[%d] %q", what, j, t), `INSERT INTO outbound_route_trunks (route_pos, pos, trunk_id)
					VALUES (?,?,?)`, i, j, t); err != nil {
					return err
				}
			}
		}
	}
	if dirty["lines"] {
		for i, x := range st.Lines {
			if err := ex(fmt.Sprintf("lines[%d] %s", i, x.Port), `INSERT INTO lines (port, pos, extension, call_waiting) VALUES (?,?,?,?)`,
				x.Port, i, x.Extension, x.CallWaiting); err != nil {
				return err
			}
		}
	}
	if dirty["conferences"] {
		for i, x := range st.Conferences {
			if err := ex(fmt.Sprintf("conferences[%d] %s", i, x.ID), `INSERT INTO conferences (id, pos, number, pin, max_members, announce, mute_key)
				VALUES (?,?,?,?,?,?,?)`, x.ID, i, x.Number, x.PIN, x.MaxMembers, x.Announce, x.MuteKey); err != nil {
				return err
			}
		}
	}
	if err := writeDISAFields(ex, st, dirty); err != nil {
		return err
	}
	if err := storeSkills(ctx, tx, st, dirty); err != nil { // skills.go
		return err
	}
	if err := importTollFraud(ex, st, dirty); err != nil {
		return err
	}
	if err := importEdge(ex, st, dirty); err != nil { // edge.go
		return err
	}
	if err := importTrunkID(ex, st, dirty); err != nil { // trunkid.go
		return err
	}
	return s.replaceUsers(ctx, tx, st.Users)
}

// replaceUsers makes the users table hold exactly users, updating rows in
// place so that sessions (which cascade from users) survive an import.
func (s *Store) replaceUsers(ctx context.Context, tx *sql.Tx, users []site.User) error {
	keep := make([]any, 0, len(users))
	placeholders := ""
	for i, u := range users {
		keep = append(keep, u.Login)
		if i > 0 {
			placeholders += ","
		}
		placeholders += "?"
	}
	del := `DELETE FROM users`
	if len(keep) > 0 {
		del += ` WHERE login NOT IN (` + placeholders + `)`
	}
	if _, err := tx.ExecContext(ctx, del, keep...); err != nil {
		return fmt.Errorf("remove users: %w", err)
	}
	for i, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (login, pos, role, agent_id, password_hash) VALUES (?,?,?,?,?)
			ON CONFLICT (login) DO UPDATE SET pos = excluded.pos, role = excluded.role, agent_id = excluded.agent_id,
			password_hash = excluded.password_hash`, u.Login, i, u.Role, nullStr(u.Agent), u.PasswordHash); err != nil {
			return fmt.Errorf("users[%d] %s (role %q, agent %q): %w", i, u.Login, u.Role, u.Agent, err)
		}
	}
	return nil
}

// diffSites compares two stored sites (secrets merged, passwords hashed).
func diffSites(old, next *site.Site) Change {
	var ch Change
	add := func(k KindChange) {
		if len(k.Added)+len(k.Removed)+len(k.Changed) > 0 {
			ch.Kinds = append(ch.Kinds, k)
		}
	}
	if !reflect.DeepEqual(normalize(old.System), normalize(next.System)) || old.Version != next.Version {
		add(KindChange{Kind: "system", Changed: []string{"system"}})
	}
	add(diffKind("extensions", old.Extensions, next.Extensions, func(x site.Extension) string { return x.Number }, false))
	add(diffKind("agents", old.Agents, next.Agents, func(x site.Agent) string { return x.ID }, false))
	add(diffKind("ring_groups", old.RingGroups, next.RingGroups, func(x site.RingGroup) string { return x.ID }, false))
	add(diffKind("hunt_groups", old.HuntGroups, next.HuntGroups, func(x site.HuntGroup) string { return x.ID }, false))
	add(diffKind("queues", old.Queues, next.Queues, func(x site.Queue) string { return x.ID }, false))
	add(diffKind("ivrs", old.IVRs, next.IVRs, func(x site.IVR) string { return x.ID }, false))
	add(diffKind("announcements", old.Announcements, next.Announcements, func(x site.Announcement) string { return x.ID }, false))
	add(diffKind("schedules", old.Schedules, next.Schedules, func(x site.Schedule) string { return x.ID }, false))
	add(diffKind("inbound", old.Inbound, next.Inbound, func(x site.InboundRoute) string {
		if x.When != "" {
			return x.Match + "@" + x.When
		}
		return x.Match
	}, true))
	add(diffKind("voicemail", old.Voicemail, next.Voicemail, func(x site.Mailbox) string { return x.Box }, false))
	add(diffKind("trunks", old.Trunks, next.Trunks, func(x site.Trunk) string { return x.ID }, false))
	add(diffKind("outbound", old.Outbound, next.Outbound, func(x site.OutboundRoute) string { return x.Pattern }, true))
	add(diffKind("lines", old.Lines, next.Lines, func(x site.Line) string { return x.Port }, false))
	add(diffKind("prompts", old.Prompts, next.Prompts, func(x site.Prompt) string { return x.ID }, false))
	add(diffKind("hold_music", old.HoldMusic, next.HoldMusic, func(x site.HoldMusic) string { return x.ID }, false))
	add(diffKind("users", old.Users, next.Users, func(x site.User) string { return x.Login }, false))
	add(diffKind("conferences", old.Conferences, next.Conferences, func(x site.Conference) string { return x.ID }, false))
	return ch
}

// diffKind compares two lists of objects by key. For ordered lists (routes)
// an object whose place among the objects in both lists moved also counts
// as changed, since the order decides which route wins. Duplicate keys get
// "#2", "#3", ... appended so that nothing is lost.
func diffKind[T any](kind string, old, next []T, key func(T) string, ordered bool) KindChange {
	k := KindChange{Kind: kind}
	keys := func(xs []T) ([]string, map[string]T) {
		ks := make([]string, len(xs))
		m := make(map[string]T, len(xs))
		seen := map[string]int{}
		for i, x := range xs {
			id := key(x)
			seen[id]++
			if n := seen[id]; n > 1 {
				id += "#" + strconv.Itoa(n)
			}
			ks[i] = id
			m[id] = x
		}
		return ks, m
	}
	oks, om := keys(old)
	nks, nm := keys(next)
	for _, id := range oks {
		if _, ok := nm[id]; !ok {
			k.Removed = append(k.Removed, id)
		}
	}
	changed := map[string]bool{}
	if ordered {
		var oc, nc []string
		for _, id := range oks {
			if _, ok := nm[id]; ok {
				oc = append(oc, id)
			}
		}
		for _, id := range nks {
			if _, ok := om[id]; ok {
				nc = append(nc, id)
			}
		}
		for i := range nc {
			if oc[i] != nc[i] {
				changed[nc[i]] = true
			}
		}
	}
	for _, id := range nks {
		o, ok := om[id]
		switch {
		case !ok:
			k.Added = append(k.Added, id)
		case changed[id] || !reflect.DeepEqual(normalize(o), normalize(nm[id])):
			k.Changed = append(k.Changed, id)
		}
	}
	return k
}

// normalize returns v with empty slices and maps made nil throughout, so
// that DeepEqual does not tell "none" stored from "none" given apart.
func normalize[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	normalizeValue(rv)
	return v
}

func normalizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Elem().Type())
			c.Elem().Set(v.Elem())
			normalizeValue(c.Elem())
			v.Set(c)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				normalizeValue(f)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			normalizeValue(c.Index(i))
		}
		v.Set(c)
	case reflect.Map:
		if v.Len() == 0 {
			v.SetZero()
		}
	}
}
