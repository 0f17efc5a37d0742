package update

// What the external tests (package update_test, which uses updatetest and
// so cannot be package update) need of the package's insides.

// VerityBlock is the verity hash tree's block size.
const VerityBlock = verityBlock

// HoldBusy holds u as an install would until the returned func is called.
func HoldBusy(u *Updater) func() {
	u.busy.Lock()
	return u.busy.Unlock
}

// PutFirst makes slot the first in the boot order.
func (s *BootState) PutFirst(slot string) { s.putFirst(slot) }
