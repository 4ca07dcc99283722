package footprint

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary has run its package initialisers, as braid has by the
// time it serves: releasing must lower the file-backed RSS, and code run
// afterwards must still run (its pages come back as it runs).
func TestReleaseExecutable(t *testing.T) {
	r, err := ReleaseExecutable()
	if err != nil {
		t.Fatal(err)
	}
	if r.Mappings < 2 || r.Bytes <= 0 {
		t.Fatalf("released %d mappings, %d bytes: want the code and read-only data", r.Mappings, r.Bytes)
	}
	if r.FileBefore <= 0 || r.FileAfter < 0 {
		t.Fatalf("RssFile not read: before %d, after %d", r.FileBefore, r.FileAfter)
	}
	if r.FileAfter >= r.FileBefore {
		t.Fatalf("RssFile %d → %d: nothing released", r.FileBefore, r.FileAfter)
	}
	t.Logf("released %d mappings (%d MiB mapped): RssFile %d KiB → %d KiB",
		r.Mappings, r.Bytes>>20, r.FileBefore>>10, r.FileAfter>>10)
	// Code and read-only tables (SHA-256's round constants) read back
	// after the release give the known answer.
	sum := sha256.Sum256([]byte("abc"))
	if got := hex.EncodeToString(sum[:]); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("sha256(abc) = %s after the release", got)
	}
}

// A binary linked by the system linker, as braid is (some of its packages
// use cgo), has a RELRO segment: read-only once the dynamic loader has
// written its relocations. Releasing it would read the file's bytes back
// in their place (a cgo function pointer as 0: a crash at the next
// os.Setenv). TestReleaseKeepsRelocations builds such a program, which
// releases its pages and then calls C through one of those pointers.
func TestReleaseKeepsRelocations(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "relro")
	build := exec.Command("go", "build", "-ldflags=-linkmode=external", "-o", bin, "./testdata/relro")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/relro: %v\n%s", err, out)
	}
	if out, err := exec.Command("readelf", "-lW", bin).Output(); err == nil && !strings.Contains(string(out), "GNU_RELRO") {
		t.Fatalf("the test program has no RELRO segment: it tests nothing\n%s", out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok: ") {
		t.Fatalf("the program failed after releasing its pages: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
