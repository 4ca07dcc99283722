package server

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// How the status page writes numbers, times and JSON values. page.js
// repeats each function operation for operation, so that the server's
// rendering and the script's show the same text.

// pick returns the first of keys present in p, or nil.
func pick(p map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := p[k]; ok && v != nil {
			return v
		}
	}
	return nil
}

// anyText writes a JSON value in a table cell: numbers as integers or with
// two decimals, lists joined by commas, objects as sorted "key value"
// pairs.
func anyText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return fixed(x, 2)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = anyText(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " " + anyText(x[k])
		}
		return strings.Join(parts, ", ")
	}
	return "—"
}

// fixed writes x with d decimals, rounding half up; page.js rounds the
// same way (Math.floor(x*10^d + 0.5)), so both write the same digits.
func fixed(x float64, d int) string {
	neg := x < 0
	p := math.Pow(10, float64(d))
	v := int64(math.Floor(math.Abs(x)*p + 0.5))
	s := strconv.FormatInt(v, 10)
	if d > 0 {
		for len(s) <= d {
			s = "0" + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg && v != 0 {
		s = "-" + s
	}
	return s
}

func percent(f float64) string { return fixed(100*f, 1) + " %" }

// duration writes seconds as "4.2 s", "3 min 05 s" or "2 h 07 min".
func duration(sec float64) string {
	if sec < 60 {
		return fixed(sec, 1) + " s"
	}
	s := int64(math.Floor(sec))
	if s < 3600 {
		return strconv.FormatInt(s/60, 10) + " min " + pad2(s%60) + " s"
	}
	return strconv.FormatInt(s/3600, 10) + " h " + pad2(s%3600/60) + " min"
}

func pad2(v int64) string {
	if v < 10 {
		return "0" + strconv.FormatInt(v, 10)
	}
	return strconv.FormatInt(v, 10)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return strconv.Itoa(n) + " " + word + "es"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// blockNumber writes a block's hex number in decimal, "—" when unknown.
func blockNumber(b *blockDoc) string {
	if b == nil {
		return "—"
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(b.Number, "0x"), 16, 64)
	if err != nil {
		return "—"
	}
	return strconv.FormatUint(n, 10)
}

func shortHash(h string) string {
	if len(h) <= 14 {
		return h
	}
	return h[:8] + "…" + h[len(h)-4:]
}

// timeText writes t in UTC to the second.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + "Z" }

// window writes a report window ("1h0m0s") shortly ("1h").
func window(w string) string {
	if w == "" {
		return "—"
	}
	if strings.HasSuffix(w, "m0s") {
		w = w[:len(w)-2]
	}
	if strings.HasSuffix(w, "h0m") {
		w = w[:len(w)-2]
	}
	return w
}
