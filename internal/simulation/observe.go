package simulation

import (
	"slices"

	"github.com/braidrpc/braid/internal/peers"
)

// window counts requests and answers between observations.
type window struct {
	asked, got       [roles]int64 // requests by the requester's role; successes
	served           [roles]int64 // requests served, by the holder's role
	attempts         [roles]int64 // requests that reached a peer, by its role
	oldAsked, oldGot int64        // honest peers' requests for pruned blocks
	provided         int64        // requests the providers answered (new blocks)
}

// count adds an exchange with a holder to the window and the run's
// totals.
func (w *world) count(to *node, res peers.Result) {
	w.win.attempts[to.role]++
	w.total.attempts[to.role]++
	if res == peers.Verified {
		w.win.served[to.role]++
		w.total.served[to.role]++
	}
}

// Sample is one observation.
type Sample struct {
	Step int
	// OldBlocks are the blocks AgeDepth or more below the tip;
	// Retrievable the share of them an honest online peer holds; Lost
	// the share no honest peer holds at all (online or not).
	OldBlocks   int
	Retrievable float64
	Lost        float64
	// MeanHolders is the mean count of honest holders of an old block.
	MeanHolders float64
	// Archival are the archival peers left; ArchivalLoad the share of
	// the requests served since the last sample that they served.
	Archival     int
	ArchivalLoad float64
	// OldSuccess is the share of honest peers' requests for blocks the
	// providers pruned (ProviderDepth or deeper: asked of peers) since
	// the last sample that succeeded; Success the same for every request,
	// by the requester's role.
	OldSuccess float64
	Success    [roles]float64
}

// observe takes a sample and starts a new window.
func (w *world) observe() Sample {
	s := Sample{Step: w.step}
	head, _ := w.head()
	var holders int64
	for b := uint64(0); b+w.cfg.AgeDepth <= head; b++ {
		s.OldBlocks++
		on, all := w.honestHolders(b)
		holders += int64(all)
		if on > 0 {
			s.Retrievable++
		}
		if all == 0 {
			s.Lost++
		}
	}
	if s.OldBlocks > 0 {
		s.Retrievable /= float64(s.OldBlocks)
		s.Lost /= float64(s.OldBlocks)
		s.MeanHolders = float64(holders) / float64(s.OldBlocks)
	}
	for _, n := range w.nodes {
		if n.role == Archival && !n.gone {
			s.Archival++
		}
	}
	var served int64
	for _, v := range w.win.served {
		served += v
	}
	s.ArchivalLoad = ratio(w.win.served[Archival], served)
	s.OldSuccess = ratio(w.win.oldGot, w.win.oldAsked)
	for r := range roles {
		s.Success[r] = ratio(w.win.got[r], w.win.asked[r])
		w.total.asked[r] += w.win.asked[r]
		w.total.got[r] += w.win.got[r]
	}
	w.total.oldAsked += w.win.oldAsked
	w.total.oldGot += w.win.oldGot
	w.win = window{}
	return s
}

// honestHolders counts the honest peers holding block b: online, and in
// all.
func (w *world) honestHolders(b uint64) (online, all int) {
	for _, s := range w.holders[b].list {
		n := w.nodes[s]
		if !n.honest() || !n.store.has(b) {
			continue
		}
		all++
		if n.online {
			online++
		}
	}
	return online, all
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// AgeBucket is the holders of blocks in a range of depths.
type AgeBucket struct {
	Name string
	// Blocks in the bucket; MeanHolders their mean count of honest
	// holders; Unreachable the share with no honest holder online.
	Blocks      int
	MeanHolders float64
	Unreachable float64
}

// ageEdges split depths into the buckets ByAge reports.
var ageEdges = []uint64{128, 500, 1000, 2000}

// byAge is the holders per block by age bucket now.
func (w *world) byAge() []AgeBucket {
	names := []string{"0-127", "128-499", "500-999", "1000-1999", "2000+"}
	out := make([]AgeBucket, len(names))
	sums := make([]int64, len(names))
	head, _ := w.head()
	for b := uint64(0); b <= head; b++ {
		d := head - b
		i, _ := slices.BinarySearch(ageEdges, d+1)
		on, all := w.honestHolders(b)
		out[i].Blocks++
		sums[i] += int64(all)
		if on == 0 {
			out[i].Unreachable++
		}
	}
	for i := range out {
		out[i].Name = names[i]
		if out[i].Blocks > 0 {
			out[i].MeanHolders = float64(sums[i]) / float64(out[i].Blocks)
			out[i].Unreachable /= float64(out[i].Blocks)
		}
	}
	return out
}

// RoleOutcome is what one kind of peer got over the run.
type RoleOutcome struct {
	Role Role
	// Peers of the role at the end; Asked and Got their requests and the
	// successful ones; Served the requests they served; Attempts the
	// requests that reached them.
	Peers    int
	Asked    int64
	Got      int64
	Served   int64
	Attempts int64
	// MeanBalance is their mean balance in the honest peers' ledgers
	// that have an account of them, in credits (0 in regime None);
	// MeanStanding their mean standing there.
	MeanBalance  float64
	MeanStanding float64
}

// roles sums up each role's outcome at the end.
func (w *world) roles() []RoleOutcome {
	out := make([]RoleOutcome, roles)
	var bal, st [roles]float64
	var accounts [roles]int
	for _, n := range w.nodes {
		out[n.role].Peers++
	}
	for _, judge := range w.nodes {
		if judge.led == nil || !judge.honest() || judge.gone {
			continue
		}
		for _, n := range w.nodes {
			if p, ok := judge.led.Peer(n.id); ok && n != judge {
				bal[n.role] += p.Balance
				st[n.role] += p.Standing
				accounts[n.role]++
			}
		}
	}
	for r := range roles {
		o := &out[r]
		o.Role = r
		o.Asked, o.Got = w.total.asked[r], w.total.got[r]
		o.Served, o.Attempts = w.total.served[r], w.total.attempts[r]
		if accounts[r] > 0 {
			o.MeanBalance, o.MeanStanding = bal[r]/float64(accounts[r]), st[r]/float64(accounts[r])
		}
	}
	return out
}
