package server

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The status page works from the JSON documents the page's script fetches
// (GET /status, /status/centralization and /status/disputes), not from
// gateway types: the server's first rendering and every refresh read the
// same fields, and a field that appears later (peers) shows without a
// change here. page/page.js builds the same view from the same documents;
// TestStatusPageInChromium checks that both agree.

// pageDocs are the three documents the page shows.
type pageDocs struct {
	Status         json.RawMessage `json:"status"`
	Centralization json.RawMessage `json:"centralization"`
	Disputes       json.RawMessage `json:"disputes"`
}

type statusDoc struct {
	Replica *struct {
		ID       string `json:"id"`
		Redis    string `json:"redis"`
		Replicas int    `json:"replicas"`
	} `json:"replica"`
	Networks []statusNet      `json:"networks"`
	Peers    []map[string]any `json:"peers"`
}

type blockDoc struct {
	Number string `json:"number"` // hex quantity
	Hash   string `json:"hash"`
}

type statusNet struct {
	Name    string `json:"name"`
	ChainID uint64 `json:"chain_id"`
	Tip     struct {
		Latest    *blockDoc `json:"latest"`
		Safe      *blockDoc `json:"safe"`
		Finalized *blockDoc `json:"finalized"`
		Known     bool      `json:"known"`
	} `json:"tip"`
	TipAgeSeconds float64 `json:"tip_age_seconds"`
	HighestHead   *uint64 `json:"highest_head"`
	Stalled       bool    `json:"stalled"`
	StallReason   string  `json:"stall_reason"`
	Operators     []struct {
		Name             string     `json:"name"`
		Upstreams        int        `json:"upstreams"`
		Strikes          int        `json:"strikes"`
		MaxStrikes       int        `json:"max_strikes"`
		QuarantinedUntil *time.Time `json:"quarantined_until"`
	} `json:"operators"`
	Upstreams []statusUpstream `json:"upstreams"`
	Cache     *struct {
		Hits    uint64  `json:"hits"`
		Misses  uint64  `json:"misses"`
		HitRate float64 `json:"hit_rate"`
	} `json:"cache"`
	Lies []struct {
		Time     time.Time `json:"time"`
		Operator string    `json:"operator"`
		Upstream string    `json:"upstream"`
		Method   string    `json:"method"`
		Reason   string    `json:"reason"`
	} `json:"lies"`
	Peers []map[string]any `json:"peers"`
}

type statusUpstream struct {
	Name          string  `json:"name"`
	Operator      string  `json:"operator"`
	URL           string  `json:"url"`
	State         string  `json:"state"`
	Condition     string  `json:"condition"`
	Quarantine    string  `json:"quarantine"`
	LagBlocks     *uint64 `json:"lag_blocks"`
	LatencyMS     float64 `json:"latency_ms"`
	ErrorRate     float64 `json:"error_rate"`
	Breaker       string  `json:"breaker"`
	Successes     uint64  `json:"successes"`
	Failures      uint64  `json:"failures"`
	BehindHighest *uint64 `json:"behind_highest_blocks"`
}

type centralDoc struct {
	Networks []centralNet `json:"networks"`
}

type centralNet struct {
	Name      string `json:"name"`
	Operators []struct {
		Name      string   `json:"name"`
		Upstreams []string `json:"upstreams"`
		Usable    *int     `json:"usable"`
		Served    uint64   `json:"served"`
		Share     float64  `json:"share"`
	} `json:"operators"`
	Availability struct {
		Reads        int  `json:"reads"`
		QuorumReads  *int `json:"quorum_reads"`
		Transactions int  `json:"transactions"`
		Min          int  `json:"min"`
	} `json:"availability"`
	Integrity struct {
		Value              int `json:"value"`
		ReadsOutsideQuorum int `json:"reads_outside_quorum"`
	} `json:"integrity"`
	Verify   string   `json:"verify"`
	HHI      float64  `json:"hhi"`
	Requests uint64   `json:"requests"`
	Window   string   `json:"window"`
	Warnings []string `json:"warnings"`
	Require  struct {
		Availability int      `json:"availability"`
		Integrity    int      `json:"integrity"`
		Unmet        []string `json:"unmet"`
	} `json:"require"`
}

type disputesDoc struct {
	Disputes []struct {
		Time     time.Time `json:"time"`
		Network  string    `json:"network"`
		Method   string    `json:"method"`
		Block    uint64    `json:"block"`
		Decision string    `json:"decision"`
		Losers   []string  `json:"losers"`
	} `json:"disputes"`
}

// pageView is what the page shows. Its JSON form is the one page.js's
// view() returns for the same documents.
type pageView struct {
	Replica  string     `json:"replica"`
	Networks []netView  `json:"networks"`
	Peers    *pageTable `json:"peers"`
}

type netView struct {
	Name   string      `json:"name"`
	Anchor string      `json:"anchor"`
	Chain  string      `json:"chain"`
	Badges []pageBadge `json:"badges"`
	Stall  string      `json:"stall"`
	Cards  []pageCard  `json:"cards"`
	Lists  []pageList  `json:"lists"`
	Tables []pageTable `json:"tables"`
}

// Classes (cls) are "ok", "warn", "bad" or "".
type pageBadge struct {
	Text string `json:"text"`
	Cls  string `json:"cls"`
}

type pageCard struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Note  string `json:"note"`
	Cls   string `json:"cls"`
}

type pageList struct {
	Title string   `json:"title"`
	Cls   string   `json:"cls"`
	Items []string `json:"items"`
}

type pageTable struct {
	ID    string       `json:"id"`
	Title string       `json:"title"`
	Cols  []string     `json:"cols"`
	Rows  [][]pageCell `json:"rows"`
	Empty string       `json:"empty"`
}

type pageCell struct {
	T   string `json:"t"`
	Cls string `json:"cls"`
}

// pageRows bounds the disputes and lies shown per network.
const pageRows = 10

// buildView turns the documents into what the page shows.
func buildView(docs pageDocs) (pageView, error) {
	var st statusDoc
	var cz centralDoc
	var ds disputesDoc
	for _, d := range []struct {
		raw json.RawMessage
		v   any
	}{{docs.Status, &st}, {docs.Centralization, &cz}, {docs.Disputes, &ds}} {
		if err := json.Unmarshal(d.raw, d.v); err != nil {
			return pageView{}, err
		}
	}
	v := pageView{Networks: []netView{}}
	if r := st.Replica; r != nil {
		v.Replica = "replica " + r.ID + " · Redis " + r.Redis + " · " + plural(r.Replicas, "replica") + " live"
	}
	for _, n := range st.Networks {
		var c centralNet
		for _, x := range cz.Networks {
			if x.Name == n.Name {
				c = x
			}
		}
		v.Networks = append(v.Networks, networkView(n, c, ds))
	}
	if st.Peers != nil {
		t := peersTable("peers", st.Peers)
		v.Peers = &t
	}
	return v, nil
}

func networkView(n statusNet, c centralNet, ds disputesDoc) netView {
	v := netView{Name: n.Name, Anchor: "net-" + n.Name, Chain: "chain " + strconv.FormatUint(n.ChainID, 10),
		Badges: []pageBadge{}, Lists: []pageList{}}
	switch {
	case !n.Tip.Known:
		v.Badges = append(v.Badges, pageBadge{"no tip yet", "warn"})
	case n.Stalled:
		v.Badges = append(v.Badges, pageBadge{"stalled", "bad"})
	default:
		v.Badges = append(v.Badges, pageBadge{"live", "ok"})
	}
	if n.Stalled {
		v.Stall = "The served tip cannot advance: " + n.StallReason
	}
	if c.Require.Availability > 0 || c.Require.Integrity > 0 {
		if len(c.Require.Unmet) > 0 {
			v.Badges = append(v.Badges, pageBadge{"require unmet", "bad"})
		} else {
			v.Badges = append(v.Badges, pageBadge{"require met", "ok"})
		}
	}
	if c.Verify != "" {
		v.Badges = append(v.Badges, pageBadge{"verify " + c.Verify, ""})
	}
	v.Cards = append(tipCards(n), coefficientCards(c)...)
	if len(c.Require.Unmet) > 0 {
		v.Lists = append(v.Lists, pageList{"Requirements not met", "bad", c.Require.Unmet})
	}
	if len(c.Warnings) > 0 {
		v.Lists = append(v.Lists, pageList{"Warnings", "warn", c.Warnings})
	}
	v.Tables = []pageTable{operatorsTable(n, c), upstreamsTable(n), disputesTable(n.Name, ds), liesTable(n)}
	if n.Peers != nil {
		v.Tables = append(v.Tables, peersTable("peers-"+n.Name, n.Peers))
	}
	return v
}

func tipCards(n statusNet) []pageCard {
	tip := pageCard{Label: "Served tip", Value: "unknown", Cls: "warn"}
	if n.Tip.Known && n.Tip.Latest != nil {
		tip = pageCard{Label: "Served tip", Value: blockNumber(n.Tip.Latest), Note: shortHash(n.Tip.Latest.Hash)}
	}
	age := pageCard{Label: "Tip age", Value: duration(n.TipAgeSeconds)}
	if n.Stalled {
		age.Cls = "bad"
	}
	highest := pageCard{Label: "Highest head", Value: "—"}
	if n.HighestHead != nil {
		highest.Value = strconv.FormatUint(*n.HighestHead, 10)
	}
	final := pageCard{Label: "Finalized", Value: blockNumber(n.Tip.Finalized), Note: "safe " + blockNumber(n.Tip.Safe)}
	cache := pageCard{Label: "Cache hit rate", Value: "off"}
	if x := n.Cache; x != nil {
		cache.Value = "—" // no cacheable call yet
		if x.Hits+x.Misses > 0 {
			cache.Value = percent(x.HitRate)
		}
		cache.Note = plural(int(x.Hits), "hit") + " · " + plural(int(x.Misses), "miss")
	}
	return []pageCard{tip, age, highest, final, cache}
}

func coefficientCards(c centralNet) []pageCard {
	a := c.Availability
	quorum := "off"
	if a.QuorumReads != nil {
		quorum = strconv.Itoa(*a.QuorumReads)
	}
	avail := pageCard{Label: "Availability", Value: strconv.Itoa(a.Min),
		Note: "reads " + strconv.Itoa(a.Reads) + " · quorum " + quorum + " · txs " + strconv.Itoa(a.Transactions)}
	if c.Require.Availability > 0 {
		avail.Note += " · need " + strconv.Itoa(c.Require.Availability)
		avail.Cls = okIf(a.Min >= c.Require.Availability)
	}
	integ := pageCard{Label: "Integrity", Value: strconv.Itoa(c.Integrity.Value),
		Note: "outside quorum " + strconv.Itoa(c.Integrity.ReadsOutsideQuorum)}
	if c.Require.Integrity > 0 {
		integ.Note += " · need " + strconv.Itoa(c.Require.Integrity)
		integ.Cls = okIf(c.Integrity.Value >= c.Require.Integrity)
	}
	hhi := pageCard{Label: "Concentration (HHI)", Value: fixed(c.HHI, 0),
		Note: plural(int(c.Requests), "read") + " in " + window(c.Window)}
	return []pageCard{avail, integ, hhi}
}

func okIf(ok bool) string {
	if ok {
		return "ok"
	}
	return "bad"
}

func operatorsTable(n statusNet, c centralNet) pageTable {
	t := pageTable{ID: "ops-" + n.Name, Title: "Operators",
		Cols: []string{"Operator", "Usable", "Share of reads", "Reads", "Strikes", "Quarantined until"},
		Rows: [][]pageCell{}, Empty: "No operators."}
	for _, op := range n.Operators {
		usable, share, reads := "—", "—", "—"
		for _, x := range c.Operators {
			if x.Name != op.Name {
				continue
			}
			if x.Usable != nil {
				usable = strconv.Itoa(*x.Usable) + "/" + strconv.Itoa(len(x.Upstreams))
			}
			share, reads = percent(x.Share), strconv.FormatUint(x.Served, 10)
		}
		strikes := pageCell{T: strconv.Itoa(op.Strikes) + "/" + strconv.Itoa(op.MaxStrikes)}
		if op.Strikes > 0 {
			strikes.Cls = "warn"
		}
		quarantined := pageCell{T: "—"}
		if op.QuarantinedUntil != nil {
			quarantined = pageCell{T: timeText(*op.QuarantinedUntil), Cls: "bad"}
		}
		t.Rows = append(t.Rows, []pageCell{{T: op.Name}, {T: usable}, {T: share}, {T: reads}, strikes, quarantined})
	}
	return t
}

func upstreamsTable(n statusNet) pageTable {
	t := pageTable{ID: "ups-" + n.Name, Title: "Upstreams",
		Cols: []string{"Upstream", "Operator", "Condition", "Lag", "Latency", "Error rate", "Share of attempts", "Breaker", "Endpoint"},
		Rows: [][]pageCell{}, Empty: "No upstreams."}
	var total uint64
	for _, u := range n.Upstreams {
		total += u.Successes + u.Failures
	}
	for _, u := range n.Upstreams {
		cond := pageCell{T: u.Condition, Cls: conditionClass(u.Condition)}
		if u.Quarantine != "" {
			cond.T += ": " + u.Quarantine
		}
		lag := pageCell{T: "—"}
		if u.LagBlocks != nil {
			lag.T = plural(int(*u.LagBlocks), "block")
			if *u.LagBlocks > 0 {
				lag.Cls = "warn"
			}
		}
		share := "—"
		if total > 0 {
			share = percent(float64(u.Successes+u.Failures) / float64(total))
		}
		errs := pageCell{T: percent(u.ErrorRate)}
		if u.ErrorRate >= 0.05 {
			errs.Cls = "warn"
		}
		breaker := pageCell{T: u.Breaker}
		if u.Breaker != "closed" {
			breaker.Cls = "warn"
		}
		t.Rows = append(t.Rows, []pageCell{{T: u.Name}, {T: u.Operator}, cond, lag,
			{T: fixed(u.LatencyMS, 1) + " ms"}, errs, {T: share}, breaker, {T: u.URL}})
	}
	return t
}

// conditionClass colours an upstream condition (upstream.Conditions).
func conditionClass(c string) string {
	switch c {
	case "healthy":
		return "ok"
	case "degraded", "lagging", "throttled":
		return "warn"
	}
	return "bad"
}

func disputesTable(network string, ds disputesDoc) pageTable {
	t := pageTable{ID: "disputes-" + network, Title: "Recent disputes",
		Cols: []string{"Time", "Method", "Block", "Decision", "Lost"}, Rows: [][]pageCell{},
		Empty: "No disputes: the operators asked agreed."}
	for _, d := range ds.Disputes {
		if d.Network != network || len(t.Rows) == pageRows {
			continue
		}
		decision := pageCell{T: d.Decision, Cls: "warn"}
		if d.Decision == "dispute" || d.Decision == "error" {
			decision.Cls = "bad"
		}
		lost := "—"
		if len(d.Losers) > 0 {
			lost = strings.Join(d.Losers, ", ")
		}
		t.Rows = append(t.Rows, []pageCell{{T: timeText(d.Time)}, {T: d.Method},
			{T: strconv.FormatUint(d.Block, 10)}, decision, {T: lost}})
	}
	return t
}

func liesTable(n statusNet) pageTable {
	t := pageTable{ID: "lies-" + n.Name, Title: "Recent lies (answers that failed verification)",
		Cols: []string{"Time", "Operator", "Upstream", "Method", "Check"}, Rows: [][]pageCell{},
		Empty: "No lies caught."}
	for _, l := range n.Lies {
		if len(t.Rows) == pageRows {
			break
		}
		t.Rows = append(t.Rows, []pageCell{{T: timeText(l.Time)}, {T: l.Operator, Cls: "bad"}, {T: l.Upstream},
			{T: l.Method}, {T: l.Reason}})
	}
	return t
}

// peersTable shows the peers /status lists. Their fields are read
// leniently (other names, numbers or objects), since the peer layer may
// spell them in more than one way.
func peersTable(id string, peers []map[string]any) pageTable {
	t := pageTable{ID: id, Title: "Peers", Cols: []string{"Peer", "Addresses", "Latency", "Transfers", "Lies"},
		Rows: [][]pageCell{}, Empty: "No peers connected."}
	for _, p := range peers {
		latency := anyText(pick(p, "latency"))
		if ms, ok := pick(p, "latency_ms").(float64); ok {
			latency = fixed(ms, 1) + " ms"
		}
		lies := pageCell{T: anyText(pick(p, "lies", "failed_verifications"))}
		if l, ok := pick(p, "lies", "failed_verifications").([]any); ok {
			lies.T = strconv.Itoa(len(l))
		}
		if lies.T != "—" && lies.T != "0" {
			lies.Cls = "bad"
		}
		t.Rows = append(t.Rows, []pageCell{{T: anyText(pick(p, "id", "peer_id", "name"))},
			{T: anyText(pick(p, "addresses", "addrs"))}, {T: latency},
			{T: anyText(pick(p, "transfers"))}, lies})
	}
	return t
}
