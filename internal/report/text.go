package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// labelWidth is the width of the label column of the text report.
const labelWidth = len("concentration  ")

// WriteText writes r for a terminal: one block per network with aligned
// columns, then a line saying whether every requirement is met.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	var failed []string
	required := false
	for i, n := range r.Networks {
		if i > 0 {
			b.WriteString("\n")
		}
		n.writeText(&b)
		if !n.OK {
			failed = append(failed, n.Name)
		}
		required = required || n.Require.Availability > 0 || n.Require.Integrity > 0
	}
	switch {
	case len(failed) > 0:
		fmt.Fprintf(&b, "\nrequirements NOT met in %s\n", strings.Join(failed, ", "))
	case required:
		b.WriteString("\nevery requirement is met\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeText writes n's block.
func (n *Network) writeText(b *strings.Builder) {
	upstreams := 0
	for _, op := range n.Operators {
		upstreams += len(op.Upstreams)
	}
	fmt.Fprintf(b, "network %s (chain %d): %s, %s\n", n.Name, n.ChainID,
		plural(len(n.Operators), "operator"), plural(upstreams, "upstream"))

	row := func(label, text string) {
		fmt.Fprintf(b, "  %-*s%s\n", labelWidth, label, text)
	}
	cont := func(text string) { row("", text) }

	for i, line := range n.operatorRows() {
		if i == 0 {
			row("operators", line)
		} else {
			cont(line)
		}
	}
	row("quorum", n.Quorum.text())
	if n.Verify == config.VerifyStrict {
		row("verify", "strict: only answers proven against a trusted header are returned")
	} else {
		row("verify", "off: answers are not checked against block headers")
	}
	if n.Trust == config.TrustBeacon {
		row("trust", "beacon: the served tip is the head the sync committee signed, not the operators' choice")
		cont("    " + plural(len(n.BeaconAPIs), "beacon API") + " (" + strings.Join(n.BeaconAPIs, ", ") + "): one live honest one suffices")
	}

	a := n.Availability
	parts := []string{"reads " + strconv.Itoa(a.Reads)}
	if a.QuorumReads != nil {
		parts = append(parts, "quorum reads "+strconv.Itoa(*a.QuorumReads))
	}
	parts = append(parts, "transactions "+strconv.Itoa(a.Transactions))
	row("availability", fmt.Sprintf("%-4d%s", a.Min, "the fewest operators whose loss stops service"))
	cont("    " + strings.Join(parts, " · "))

	if n.Integrity.Unbounded {
		row("integrity", fmt.Sprintf("%-4s%s", "∞", "no set of operators can make braid answer wrongly: only the sync committee can"))
	} else {
		row("integrity", fmt.Sprintf("%-4d%s", n.Integrity.Value, "the fewest colluding operators that can make braid answer wrongly"))
	}
	cont("    " + n.Integrity.Note)

	if n.Window != "" {
		if n.Requests == 0 {
			row("concentration", "no reads "+n.windowText())
		} else {
			row("concentration", fmt.Sprintf("HHI %s over %s %s",
				thousands(uint64(n.HHI+0.5)), plural(n.Requests, "read"), n.windowText()))
		}
	}

	row("history", n.History.Note)

	if len(n.Warnings) == 0 {
		row("warnings", "none")
	}
	for i, w := range n.Warnings {
		if i == 0 {
			row("warnings", "- "+w)
		} else {
			cont("- " + w)
		}
	}
	row("require", n.Require.text(n))
}

// operatorRows are the operator table's lines, columns aligned.
func (n *Network) operatorRows() []string {
	cols := make([][]string, len(n.Operators))
	for i, op := range n.Operators {
		c := []string{op.Name, plural(len(op.Upstreams), "upstream"), "(" + strings.Join(op.Upstreams, ", ") + ")"}
		if op.Usable != nil {
			c = append(c, fmt.Sprintf("%d/%d usable", *op.Usable, len(op.Upstreams)))
			share := fmt.Sprintf("%5.1f %%", 100*op.Share)
			if i == 0 {
				share += " of reads"
			}
			c = append(c, share)
		}
		if op.QuarantinedUntil != nil {
			c = append(c, "quarantined") // the warning says until when
		}
		cols[i] = c
	}
	widths := map[int]int{}
	for _, c := range cols {
		for j, s := range c {
			widths[j] = max(widths[j], len([]rune(s)))
		}
	}
	lines := make([]string, len(cols))
	for i, c := range cols {
		var line strings.Builder
		for j, s := range c {
			if j > 0 {
				line.WriteString("  ")
			}
			line.WriteString(s)
			if j < len(c)-1 {
				line.WriteString(strings.Repeat(" ", widths[j]-len([]rune(s))))
			}
		}
		lines[i] = line.String()
	}
	return lines
}

// text describes the quorum policy in one line.
func (q Quorum) text() string {
	if q.KMax <= 1 {
		return "off (k 1)"
	}
	s := "k " + strconv.Itoa(q.K)
	var other []string
	for _, m := range slices.Sorted(maps.Keys(q.Methods)) {
		if q.Methods[m] != q.K {
			other = append(other, fmt.Sprintf("%s %d", m, q.Methods[m]))
		}
	}
	if q.KMin < q.K {
		other = append(other, fmt.Sprintf("some reads %d", q.KMin))
	}
	if len(other) > 0 {
		s += " (" + list(other, 4, false) + ")"
	}
	return s + " · on dispute: " + q.OnDispute + " · on shortfall: " + q.OnShortfall
}

// text describes the requirements and whether n meets them.
func (r Require) text(n *Network) string {
	var parts []string
	check := func(name string, want, got int) {
		if want <= 0 {
			return
		}
		verdict := "met"
		if got < want {
			verdict = fmt.Sprintf("NOT MET (%d)", got)
		}
		parts = append(parts, fmt.Sprintf("%s ≥ %d: %s", name, want, verdict))
	}
	check("availability", r.Availability, n.Availability.Min)
	integrity := n.Integrity.Value
	if n.Integrity.Unbounded {
		integrity = max(integrity, r.Integrity)
	}
	check("integrity", r.Integrity, integrity)
	if len(parts) == 0 {
		return "none (set require.availability and require.integrity for braid check to enforce)"
	}
	return strings.Join(parts, " · ")
}

// windowText is "in the last hour", or "" without a known window.
func (n *Network) windowText() string {
	d, err := time.ParseDuration(n.Window)
	if err != nil {
		return "in " + n.Window
	}
	return "in the " + windowPhrase(d)
}

// plural is "1 word" or "n words".
func plural[T int | uint64](n T, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return thousands(uint64(n)) + " " + word + "s"
}

// thousands formats v with commas between groups of three digits.
func thousands(v uint64) string {
	s := strconv.FormatUint(v, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
