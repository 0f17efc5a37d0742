package update

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/diskfs/go-diskfs/filesystem/squashfs"
	"github.com/smallstep/pkcs7"
)

// ErrNotBundle means the file is not a RAUC bundle at all (no signature
// trailer, no manifest); it wraps the detail.
var ErrNotBundle = errors.New("not a firmware bundle")

// maxSignature bounds the CMS signature a bundle may end with; RAUC's are a
// few KB (the manifest and a certificate chain).
const maxSignature = 1 << 20

// Manifest is the part of a RAUC manifest the installer uses.
type Manifest struct {
	Compatible string
	Version    string
	Format     string // "verity" (the only one accepted)
	VerityHash []byte
	VeritySalt []byte
	VeritySize int64
	Images     []Image
}

// Image is one [image.CLASS] section: the file in the bundle's payload for
// the slots of that class.
type Image struct {
	Class    string
	Filename string
	SHA256   []byte
	Size     int64
}

// Bundle is a bundle whose signature has been checked: its manifest can be
// trusted. The payload is checked against the manifest by VerifyPayload.
type Bundle struct {
	Manifest Manifest
	r        io.ReaderAt
	size     int64 // the whole file
	payload  int64 // squashfs plus verity hash tree
	signer   string
	sq       *squashfs.FileSystem // the payload, once verified
}

// OpenBundle reads a RAUC verity bundle's trailer and signature (the last 8
// bytes give the size of the CMS signature before them; the manifest is the
// signed content) and checks the signature against keyring. It reads only
// the end of the file. A file without the trailer wraps ErrNotBundle; a
// signature that is not valid or not from the keyring wraps ErrSignature.
func OpenBundle(r io.ReaderAt, size int64, keyring *x509.CertPool) (*Bundle, error) {
	if size < 8+4096 {
		return nil, fmt.Errorf("%w: %d bytes is too small", ErrNotBundle, size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, fmt.Errorf("read bundle trailer: %w", err)
	}
	sigSize := binary.BigEndian.Uint64(tail[:])
	if sigSize == 0 || sigSize > maxSignature || int64(sigSize) > size-8-4096 {
		return nil, fmt.Errorf("%w: no signature trailer (size field %d)", ErrNotBundle, sigSize)
	}
	sig := make([]byte, sigSize)
	if _, err := r.ReadAt(sig, size-8-int64(sigSize)); err != nil {
		return nil, fmt.Errorf("read bundle signature: %w", err)
	}
	p7, err := parseCMS(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature block is not CMS: %v", ErrNotBundle, err)
	}
	if len(p7.Content) == 0 {
		return nil, fmt.Errorf("%w: the signature holds no manifest (a plain-format bundle? only verity bundles are accepted)", ErrNotBundle)
	}
	// The chain is checked at the signing time the signature records (the
	// box's clock may not be set yet on first boot).
	if err := p7.VerifyWithChain(keyring); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	m, err := ParseManifest(p7.Content)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	b := &Bundle{Manifest: m, r: r, size: size, payload: size - 8 - int64(sigSize)}
	if s := p7.GetOnlySigner(); s != nil {
		b.signer = s.Subject.String()
	}
	if m.Format != "verity" {
		return nil, fmt.Errorf("%w: bundle format %q; only verity bundles are accepted", ErrNotBundle, m.Format)
	}
	if m.VeritySize <= 0 || m.VeritySize%verityBlock != 0 || m.VeritySize >= b.payload ||
		(b.payload-m.VeritySize)%verityBlock != 0 || len(m.VerityHash) != 32 {
		return nil, fmt.Errorf("%w: the manifest's verity fields do not fit the file", ErrNotBundle)
	}
	return b, nil
}

// parseCMS is pkcs7.Parse made safe against the panics its ASN.1 walker
// has on crafted input: a bundle is untrusted until verified.
func parseCMS(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if p := recover(); p != nil {
			p7, err = nil, fmt.Errorf("malformed CMS: %v", p)
		}
	}()
	return pkcs7.Parse(der)
}

// Signer is the subject of the certificate the bundle was signed with.
func (b *Bundle) Signer() string { return b.signer }

// squashfsSize is the size of the squashfs image inside the payload (the
// verity hash tree follows it).
func (b *Bundle) squashfsSize() int64 { return b.payload - b.Manifest.VeritySize }

// VerifyPayload recomputes the verity root hash of the squashfs payload and
// compares it with the signed manifest's; it also checks that the hash tree
// has the size the manifest says. Progress is reported through done. A
// mismatch wraps ErrSignature: the payload is not what was signed.
func (b *Bundle) VerifyPayload(done func(n, total int64)) error {
	total := b.squashfsSize()
	root, tree, err := verityRoot(b.r, total, b.Manifest.VeritySalt, func(n int64) {
		if done != nil {
			done(n, total)
		}
	})
	if err != nil {
		return err
	}
	if tree != b.Manifest.VeritySize {
		return fmt.Errorf("%w: verity hash tree is %d bytes, the manifest says %d", ErrSignature, tree, b.Manifest.VeritySize)
	}
	if !bytes.Equal(root, b.Manifest.VerityHash) {
		return fmt.Errorf("%w: the payload does not match the signed verity hash (damaged or altered)", ErrSignature)
	}
	return nil
}

// Image returns the manifest's image for slot class class.
func (m Manifest) Image(class string) (Image, bool) {
	for _, im := range m.Images {
		if im.Class == class {
			return im, true
		}
	}
	return Image{}, false
}

// ParseManifest parses a RAUC manifest (INI: [update], [bundle],
// [image.CLASS] sections).
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	section := ""
	var img *Image
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return m, fmt.Errorf("manifest line %d: unclosed section %q", n, line)
			}
			section = line[1 : len(line)-1]
			img = nil
			if class, ok := strings.CutPrefix(section, "image."); ok {
				if class == "" {
					return m, fmt.Errorf("manifest line %d: image section without a slot class", n)
				}
				m.Images = append(m.Images, Image{Class: class})
				img = &m.Images[len(m.Images)-1]
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return m, fmt.Errorf("manifest line %d: %q is not key=value", n, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var err error
		switch {
		case section == "update" && k == "compatible":
			m.Compatible = v
		case section == "update" && k == "version":
			m.Version = v
		case section == "bundle" && k == "format":
			m.Format = v
		case section == "bundle" && k == "verity-hash":
			m.VerityHash, err = hex.DecodeString(v)
		case section == "bundle" && k == "verity-salt":
			m.VeritySalt, err = hex.DecodeString(v)
		case section == "bundle" && k == "verity-size":
			m.VeritySize, err = strconv.ParseInt(v, 10, 64)
		case img != nil && k == "filename":
			img.Filename = v
		case img != nil && k == "sha256":
			img.SHA256, err = hex.DecodeString(v)
		case img != nil && k == "size":
			img.Size, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return m, fmt.Errorf("manifest line %d: %s: %v", n, k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if m.Compatible == "" {
		return m, errors.New("manifest has no [update] compatible")
	}
	for _, im := range m.Images {
		if im.Filename == "" || strings.Contains(im.Filename, "/") || len(im.SHA256) != 32 || im.Size < 0 {
			return m, fmt.Errorf("manifest: image.%s needs a plain filename, a sha256 and a size", im.Class)
		}
	}
	return m, nil
}

// LoadKeyring reads the PEM certificates of a keyring file (RAUC's
// keyring.pem).
func LoadKeyring(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var blk *pem.Block
		blk, pemData = pem.Decode(pemData)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("keyring: no PEM certificate")
	}
	return pool, nil
}
