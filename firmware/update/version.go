package update

import (
	"strconv"
	"strings"
)

// CompareVersions orders two firmware versions as `git describe --tags`
// writes them ("v1.4.2", "v1.4.2-7-g3f2a1c9", "v1.4.2-rc1", with an optional
// "-dirty"): by the dotted numbers, then a release after its pre-releases
// ("-rc1" < ""), then by the commits since the tag. It returns -1, 0 or 1,
// and ok=false when either version has no dotted number to compare (a bare
// commit hash, "dev"): such versions cannot be ordered.
func CompareVersions(a, b string) (cmp int, ok bool) {
	pa, oka := parseVersion(a)
	pb, okb := parseVersion(b)
	if !oka || !okb {
		return 0, false
	}
	for i := range max(len(pa.nums), len(pb.nums)) {
		x, y := at(pa.nums, i), at(pb.nums, i)
		if x != y {
			return sign(x - y), true
		}
	}
	// A pre-release sorts before its release.
	switch {
	case pa.pre != "" && pb.pre == "":
		return -1, true
	case pa.pre == "" && pb.pre != "":
		return 1, true
	case pa.pre != pb.pre:
		if pa.pre < pb.pre {
			return -1, true
		}
		return 1, true
	}
	return sign(pa.commits - pb.commits), true
}

type version struct {
	nums    []int
	pre     string
	commits int
}

func parseVersion(s string) (version, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "-dirty")
	s = strings.TrimPrefix(s, "v")
	parts := strings.Split(s, "-")
	var v version
	for f := range strings.SplitSeq(parts[0], ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return version{}, false
		}
		v.nums = append(v.nums, n)
	}
	rest := parts[1:]
	// git describe's tail: -<commits>-g<hash>.
	if k := len(rest); k >= 2 && strings.HasPrefix(rest[k-1], "g") {
		if n, err := strconv.Atoi(rest[k-2]); err == nil {
			v.commits = n
			rest = rest[:k-2]
		}
	}
	v.pre = strings.Join(rest, "-")
	return v, true
}

func at(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
