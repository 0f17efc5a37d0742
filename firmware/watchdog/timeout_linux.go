package watchdog

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// setTimeout asks the driver for timeout (WDIOC_SETTIMEOUT, whole seconds).
func setTimeout(dev io.Writer, timeout time.Duration) error {
	f, ok := dev.(*os.File)
	if !ok {
		return nil // a fake device
	}
	secs := int(timeout / time.Second)
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.WDIOC_SETTIMEOUT, secs); err != nil {
		return fmt.Errorf("set watchdog timeout %ds: %w", secs, err)
	}
	return nil
}
