package verify

import "fmt"

// Error is a failed check: the answer is not what the trusted header
// commits to, or is too malformed to be checked. Either way the upstream
// that gave it must not be believed.
type Error struct {
	What string
}

func (e *Error) Error() string { return "verification failed: " + e.What }

func errorf(format string, args ...any) error {
	return &Error{What: fmt.Sprintf(format, args...)}
}
