package update

import (
	"crypto/sha256"
	"fmt"
	"io"
)

// verityBlock is the data and hash block size RAUC uses for its verity
// bundles (veritysetup format 1, SHA-256, no superblock).
const verityBlock = 4096

// verityRoot computes the dm-verity root hash of the first size bytes of r
// (a multiple of the block size) with salt, as veritysetup format 1 does:
// every block's hash is SHA-256(salt || block); a level's hashes are packed
// into zero-padded blocks and hashed again until one block is left, whose
// salted hash is the root. It also returns the hash tree's size, which the
// manifest records as verity-size. done is called after each data block.
func verityRoot(r io.ReaderAt, size int64, salt []byte, done func(n int64)) (root []byte, treeSize int64, err error) {
	if size <= 0 || size%verityBlock != 0 {
		return nil, 0, fmt.Errorf("verity: payload size %d is not a multiple of %d", size, verityBlock)
	}
	hashBlock := func(b []byte) []byte {
		h := sha256.New()
		h.Write(salt)
		h.Write(b)
		return h.Sum(nil)
	}
	// Level 0: the data blocks' hashes, read in large chunks.
	var level []byte
	buf := make([]byte, 64*verityBlock)
	for off := int64(0); off < size; {
		n := min(int64(len(buf)), size-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil {
			return nil, 0, fmt.Errorf("verity: read payload at %d: %w", off, err)
		}
		for i := int64(0); i < n; i += verityBlock {
			level = append(level, hashBlock(buf[i:i+verityBlock])...)
		}
		off += n
		if done != nil {
			done(off)
		}
	}
	for {
		// Pad the level to whole hash blocks.
		if rem := len(level) % verityBlock; rem != 0 {
			level = append(level, make([]byte, verityBlock-rem)...)
		}
		treeSize += int64(len(level))
		if len(level) == verityBlock {
			return hashBlock(level), treeSize, nil
		}
		var next []byte
		for i := 0; i < len(level); i += verityBlock {
			next = append(next, hashBlock(level[i:i+verityBlock])...)
		}
		level = next
	}
}
