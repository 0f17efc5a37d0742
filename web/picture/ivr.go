package picture

import (
	"fmt"
	"html/template"
	"slices"
	"strings"

	"ringbox/firmware/site"
)

// keypad is the order keys sit on a phone: the tree lists them so.
const keypad = "1234567890*#"

// IVR tree geometry, in user units.
const (
	ivWidth   = 560.0
	ivBoxX    = 8.0
	ivBoxW    = 150.0
	ivTrunkX  = 172.0
	ivKeyX    = 184.0 // key badges and the "no key" texts
	ivDestX   = 262.0
	ivRowH    = 34.0
	ivDestH   = 26.0
	ivTop     = 8.0
	ivMaxKeys = 12 // options drawn; a phone has 12 keys
)

// IVRTree draws menu ivr as a tree from left to right: the menu (name and
// greeting), one branch per option in keypad order (1 to 9, 0, *, #) to
// the destination, then where the call goes when the caller presses no
// key and when they press a wrong one (both default to hang up). label
// names a destination ("queue:support") as the installer should read
// it; nil shows it as written.
func IVRTree(ivr site.IVR, label func(dest string) string) template.HTML {
	label = orIdentity(label)
	name := ivr.Name
	if name == "" {
		name = ivr.ID
	}
	keys := make([]string, 0, len(ivr.Options))
	for k := range ivr.Options {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := keyRank(a), keyRank(b)
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	more := max(0, len(keys)-ivMaxKeys)
	keys = keys[:len(keys)-more]

	type branch struct {
		key, lead, dest, title string
	}
	var bs []branch
	for _, k := range keys {
		d := label(ivr.Options[k])
		bs = append(bs, branch{key: k, dest: d, title: "Key " + k + ": " + d})
	}
	if more > 0 {
		bs = append(bs, branch{lead: fmt.Sprintf("+%d more", more), title: fmt.Sprintf("%d more options not drawn", more)})
	}
	noKey, wrongKey := label(ivr.TimeoutDest()), label(ivr.InvalidDest())
	bs = append(bs,
		branch{lead: "no key →", dest: noKey, title: "No key pressed: " + noKey},
		branch{lead: "wrong key →", dest: wrongKey, title: "Wrong key: " + wrongKey})

	rowsH := float64(len(bs)) * ivRowH
	nameLines := wrap(name, fits(ivBoxW-16), 2)
	greet := "no greeting"
	if ivr.Greeting != "" {
		greet = "greeting: " + ivr.Greeting
	}
	greetLines := wrap(greet, fitsSmall(ivBoxW-16), 2)
	boxH := 16 + 18*float64(len(nameLines)) + 15*float64(len(greetLines))
	h := ivTop + max(rowsH, boxH) + 8
	if ivr.DirectDial {
		h += 20
	}

	var words []string
	for _, b := range bs {
		words = append(words, b.title)
	}
	desc := fmt.Sprintf("Menu %s (%s): %s", name, greet, strings.Join(words, "; "))
	if ivr.DirectDial {
		desc += "; callers may dial an extension"
	}

	var c canvas
	c.open(ivWidth, h, "pic pic-ivr", desc)
	c.rect(0, 0, ivWidth, h, "pic-bg")

	mid := ivTop + max(rowsH, boxH)/2
	by := mid - boxH/2
	c.group("", "Menu "+name+", "+greet)
	c.rect(ivBoxX, by, ivBoxW, boxH, "pic-end")
	y := by + 6
	for _, l := range nameLines {
		y += 18
		c.text(ivBoxX+8, y, "", "pic-strong", l)
	}
	y += 2
	for _, l := range greetLines {
		y += 15
		c.text(ivBoxX+8, y, "", "pic-muted", l)
	}
	c.endGroup()

	rowTop := mid - rowsH/2
	for i, b := range bs {
		cy := rowTop + float64(i)*ivRowH + ivRowH/2
		c.group("pic-branch", b.title)
		// Keyed rows run under their badge into the box; the others stop
		// before their text, whose arrow points on.
		end := ivDestX
		if b.key == "" {
			end = ivKeyX - 4
		}
		fmt.Fprintf(&c.b, `<path class="pic-link" d="M%s %sH%sV%sH%s"/>`,
			num(ivBoxX+ivBoxW), num(mid), num(ivTrunkX), num(cy), num(end))
		if b.key != "" {
			c.rect(ivKeyX, cy-12, 28, 24, "pic-key")
			c.text(ivKeyX+14, cy+5, "middle", "pic-key-text", short(b.key, 3))
		} else {
			c.text(ivKeyX, cy+4, "", "pic-muted", b.lead)
		}
		if b.dest != "" {
			c.rect(ivDestX, cy-ivDestH/2, ivWidth-8-ivDestX, ivDestH, "pic-box")
			c.text(ivDestX+8, cy+5, "", "", short(b.dest, fits(ivWidth-24-ivDestX)))
		}
		c.endGroup()
	}
	if ivr.DirectDial {
		c.text(ivBoxX, h-10, "", "pic-muted", "Callers may also dial an extension number.")
	}
	return c.close()
}

// keyRank places a key in keypad order; keys no phone has go last.
func keyRank(k string) int {
	if len(k) == 1 {
		if i := strings.Index(keypad, k); i >= 0 {
			return i
		}
	}
	return len(keypad)
}
