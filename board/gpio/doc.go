// Package gpio drives the front panel's buttons and LEDs on GPIO pins
// (periph.io/x/conn/v3/gpio): a [Watcher] turns a button's edges into
// debounced, classified presses, a [Player] plays LED patterns.
//
// # Pins
//
// On the box the pins come from periph's gpioioctl driver (the GPIO
// character device), found by their device-tree line names. Its
// WaitForEdge differs from the interface's documentation (0 waits
// forever, a negative timeout returns at once), so the watcher only ever
// passes a short finite timeout and loops; the same loop notices Close
// and reads the level again in case the kernel dropped an edge.
// gpioioctl never sets the kernel's debounce attribute: debouncing is
// done here, in software.
//
// # Goroutines
//
// A Watcher runs one goroutine per button (a pin blocks in WaitForEdge,
// one at a time); a Player runs one goroutine for all its LEDs. Close
// stops and joins them.
//
// # Time
//
// Press classification and blink steps are plain timers and time.Now, so
// the tests run them under testing/synctest with a fake pin.
package gpio
