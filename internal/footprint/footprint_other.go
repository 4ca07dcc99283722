//go:build !linux

package footprint

// ReleaseExecutable does nothing here: see ErrUnsupported.
func ReleaseExecutable() (Release, error) { return Release{}, ErrUnsupported }
