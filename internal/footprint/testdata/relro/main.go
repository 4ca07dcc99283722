// Command relro releases its own start-up pages and then calls C through a
// pointer the dynamic loader relocated: TestReleaseKeepsRelocations builds
// it linked externally (as braid is, since some of its packages use cgo)
// and runs it.
package main

import (
	"fmt"
	"os"
	_ "runtime/cgo" // os.Setenv calls C's setenv through a relocated pointer

	"github.com/braidrpc/braid/internal/footprint"
)

func main() {
	r, err := footprint.ReleaseExecutable()
	if err != nil {
		fmt.Println("release:", err)
		os.Exit(1)
	}
	if err := os.Setenv("BRAID_FOOTPRINT_TEST", "after the release"); err != nil {
		fmt.Println("setenv:", err)
		os.Exit(1)
	}
	fmt.Printf("ok: released %d mappings, %s\n", r.Mappings, os.Getenv("BRAID_FOOTPRINT_TEST"))
}
