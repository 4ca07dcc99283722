package upstream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadLimited(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 40<<10) // 640 kB: past the pooled size
	tests := []struct {
		name   string
		body   string
		length int64 // -1: unknown (chunked)
		limit  int64
		err    error
	}{
		{name: "known length", body: "hello", length: 5, limit: 10},
		{name: "known length over the limit", body: "hello", length: 5, limit: 4, err: ErrTooLarge},
		{name: "chunked", body: "hello", length: -1, limit: 10},
		{name: "chunked empty", body: "", length: -1, limit: 10},
		{name: "chunked at the limit", body: "hello", length: -1, limit: 5},
		{name: "chunked one byte over", body: "hello!", length: -1, limit: 5, err: ErrTooLarge},
		{name: "chunked large", body: big, length: -1, limit: int64(len(big))},
		{name: "chunked large over", body: big, length: -1, limit: int64(len(big)) - 1, err: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and (when short) one byte per read: the loop must not
			// depend on how the body arrives.
			readers := []io.Reader{strings.NewReader(tt.body)}
			if len(tt.body) < 1<<10 {
				readers = append(readers, iotest.OneByteReader(strings.NewReader(tt.body)))
			}
			for _, r := range readers {
				got, err := readLimited(r, tt.length, tt.limit)
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if err == nil && string(got) != tt.body {
					t.Fatalf("read %d bytes, want %d", len(got), len(tt.body))
				}
			}
		})
	}
}

func TestReadLimitedStopsAtTheLimit(t *testing.T) {
	// A chunked answer that never ends is read only one byte past the
	// limit.
	var counted countingReader
	if _, err := readLimited(&counted, -1, 100<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	if counted.n != 100<<10+1 {
		t.Fatalf("read %d bytes of an endless body, want the limit + 1 = %d", counted.n, 100<<10+1)
	}
}

type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

func TestReadLimitedKeepsItsOwnCopy(t *testing.T) {
	// The pooled buffer is reused by the next read: an answer must not
	// change under its holder.
	first, err := readLimited(strings.NewReader(`{"result":"first"}`), -1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := readLimited(strings.NewReader(`{"result":"other!"}`), -1, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	if string(first) != `{"result":"first"}` {
		t.Fatalf("first answer changed to %q", first)
	}
}

func TestReadLimitedPassesReadErrors(t *testing.T) {
	r := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := readLimited(r, -1, 1<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want the reader's", err)
	}
	if _, err := readLimited(bytes.NewReader([]byte("abc")), 5, 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short known-length body: error %v, want io.ErrUnexpectedEOF", err)
	}
}
