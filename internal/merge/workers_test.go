package merge

import (
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
)

// A worker that finished a fetch takes the next one: back-to-back
// fetches do not each start a goroutine. (A fetch handed over in the
// instant between a worker counting itself idle and its waiting starts
// one more, so the test asks for reuse, not for exactly one worker.)
func TestWorkersReuseAnIdleWorker(t *testing.T) {
	var w workers
	defer w.close()
	const fetches = 20
	for range fetches {
		done := make(chan struct{})
		w.run(func() { close(done) })
		<-done
		await.Until(t, "a worker idle again", func() bool { return w.idle.Load() >= 1 })
	}
	if n := w.started.Load(); n >= fetches {
		t.Fatalf("%d workers started for %d back-to-back fetches: none was reused", n, fetches)
	}
}

// Fetches that overlap each get a worker: none waits for another.
func TestWorkersRunOverlappingFetchesAtOnce(t *testing.T) {
	var w workers
	defer w.close()
	const n = 8
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	var done sync.WaitGroup
	done.Add(n)
	for range n {
		w.run(func() {
			started.Done()
			<-release
			done.Done()
		})
	}
	started.Wait() // would hang if a fetch waited for another's worker
	close(release)
	done.Wait()
}

// Idle workers end, after their idle time or at close.
func TestWorkersEnd(t *testing.T) {
	w := workers{idleFor: time.Millisecond}
	done := make(chan struct{})
	w.run(func() { close(done) })
	<-done
	await.Until(t, "the idle worker ended", func() bool { return w.live.Load() == 0 })

	c := workers{idleFor: time.Hour}
	c.run(func() {})
	await.Until(t, "the worker idle", func() bool { return c.idle.Load() == 1 })
	c.close()
	await.Until(t, "the worker ended at close", func() bool { return c.live.Load() == 0 })
	ran := make(chan struct{})
	c.run(func() { close(ran) }) // after close: still runs
	<-ran
	await.Until(t, "that worker ended too", func() bool { return c.live.Load() == 0 })
}
