package web_test

import (
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// screenshot loads url in headless Chromium at width×height and returns
// the picture. It skips the test when no Chromium is installed.
func screenshot(t *testing.T, url string, width, height int) image.Image {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("Chromium is required (make test installs it): the page cannot be looked at")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--force-prefers-reduced-motion", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+out, url)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func white(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r>>8 == 0xff && g>>8 == 0xff && b>>8 == 0xff
}

// TestLoginCardIsCentred: the login and first-boot cards sit in the
// middle of a desktop and a phone screen, with a gutter on both sides,
// and are as tall as their form, not stretched to the bottom.
func TestLoginCardIsCentred(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	set := newEnv(t)
	bare := newBareEnv(t)
	for _, page := range []struct {
		name string
		e    *env
		path string
	}{{"login", set, "/login"}, {"setup", bare, "/setup"}} {
		srv := httptest.NewServer(page.e.h)
		t.Cleanup(srv.Close)
		for _, size := range [][2]int{{1280, 1000}, {375, 1000}} {
			w, h := size[0], size[1]
			t.Run(page.name+"/"+strconv.Itoa(w), func(t *testing.T) {
				img := screenshot(t, srv.URL+page.path, w, h)
				// The row just inside the card's top edge (3rem down): the
				// card's white spans from its left to its right border.
				y := 56
				left, right := -1, -1
				for x := range w {
					if white(img, x, y) {
						if left < 0 {
							left = x
						}
						right = x
					}
				}
				if left < 0 {
					t.Fatalf("no card at y=%d", y)
				}
				if gapL, gapR := left, w-1-right; gapL < 8 || abs(gapL-gapR) > 2 {
					t.Errorf("card spans x %d..%d on a %d px screen: gaps %d and %d, want equal and at least 8 px", left, right, w, gapL, gapR)
				}
				// Down the card's left padding to its bottom border.
				bottom := y
				for bottom+1 < h && white(img, left+4, bottom+1) {
					bottom++
				}
				if bottom > h*3/4 {
					t.Errorf("card reaches y=%d of %d: stretched, want the height of its form", bottom, h)
				}
			})
		}
	}
	for _, page := range []struct {
		e    *env
		path string
	}{{set, "/login"}, {bare, "/setup"}} {
		body := page.e.req("GET", page.path, "").Body.String()
		if !strings.Contains(body, `<a class="skip" href="#main">Skip to content</a>`) || !strings.Contains(body, `<main id="main"`) {
			t.Errorf("%s lacks the skip link to #main", page.path)
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
