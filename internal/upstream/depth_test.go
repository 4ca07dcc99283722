package upstream

import "testing"

func TestDepthLearning(t *testing.T) {
	d := newDepth(false)
	if !d.mayHold(StateData, 1_000_000) {
		t.Fatal("unknown depth should be assumed unlimited")
	}
	d.lacks(StateData, 200)
	if d.mayHold(StateData, 200) || d.mayHold(StateData, 500) || !d.mayHold(StateData, 199) {
		t.Fatal("after lacking state at depth 200, depth ≥200 must be skipped and 199 tried")
	}
	if !d.mayHold(HistoryData, 500) {
		t.Fatal("lacking state says nothing about block history")
	}
	d.lacks(HistoryData, 100)
	if d.mayHold(StateData, 150) {
		t.Fatal("no block at depth 100 means no state there either")
	}
	d.holds(StateData, 120)
	if !d.mayHold(StateData, 120) {
		t.Fatal("an answer at depth 120 proves the node holds it")
	}
	a := newDepth(true)
	a.lacks(StateData, 5)
	if !a.mayHold(StateData, 1<<40) {
		t.Fatal("an archive node is never limited")
	}
}
