package gatewaytest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// request is one call as a fake reads it.
type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// visit is how the fake treats one request, as its switches stood when
// the request arrived.
type visit struct {
	down       bool
	status     int
	retryAfter string
	latency    time.Duration
	errAnswer  string
	capped     bool
	hold       chan struct{}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`, http.StatusOK)
		return
	}
	f.mu.Lock()
	tr := f.trap
	f.mu.Unlock()
	tr.spring(f, req.Method)

	v := f.arrive(req)
	defer f.leave(v)
	if !f.wait(r, v) || f.fail(w, v) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, f.reply(req, v.errAnswer))
}

// arrive counts req and reads the switches that decide its fate.
func (f *Fake) arrive(req request) visit {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[req.Method]++
	f.params[req.Method] = append(f.params[req.Method], string(req.Params))
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	v := visit{down: f.down, status: f.status, retryAfter: f.retryAfter, latency: f.latency, errAnswer: f.errAnswer,
		capped: req.Method == f.capMethod && f.capacity > 0}
	if v.capped {
		f.capInflight++
		if f.capInflight > f.capacity {
			f.rejected++
			v.status = http.StatusTooManyRequests
		} else {
			f.capPeak = max(f.capPeak, f.capInflight)
		}
	}
	if f.arrived != nil {
		select {
		case f.arrived <- req.Method:
		default:
		}
	}
	if req.Method == f.holdMethod {
		v.hold = f.hold
	}
	return v
}

// leave ends the request's count as in flight.
func (f *Fake) leave(v visit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	if v.capped {
		f.capInflight--
	}
}

// wait holds the request while a Hold is on and for the latency; false
// when the client gave up meanwhile.
func (f *Fake) wait(r *http.Request, v visit) bool {
	if v.hold != nil {
		f.mu.Lock()
		f.held++
		f.mu.Unlock()
		select {
		case <-v.hold:
		case <-r.Context().Done():
		}
		f.mu.Lock()
		f.held--
		f.mu.Unlock()
	}
	if v.latency <= 0 {
		return true
	}
	select {
	case <-time.After(v.latency):
		return true
	case <-r.Context().Done():
		if v.capped {
			f.mu.Lock()
			f.capGivenUp++
			f.mu.Unlock()
		}
		return false
	}
}

// fail answers as a failing provider does (connection closed, or an HTTP
// error status); false when the fake answers normally.
func (f *Fake) fail(w http.ResponseWriter, v visit) bool {
	if v.down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if v.status != 0 {
		if v.retryAfter != "" {
			w.Header().Set("Retry-After", v.retryAfter)
		}
		http.Error(w, http.StatusText(v.status), v.status)
		return true
	}
	return false
}

// reply is the whole JSON-RPC answer to req.
func (f *Fake) reply(req request, errAnswer string) string {
	id := string(req.ID)
	if id == "" {
		id = "null"
	}
	plain := errAnswer == "" && f.override(req.Method) == ""
	if member, ok := aboveHead(req, f.head()); ok && plain {
		return `{"jsonrpc":"2.0","id":` + id + `,` + member + "}\n"
	}
	if result, ok := f.blockAnswer(req); ok && plain {
		// Result first, odd spacing: only a byte-for-byte pass-through
		// keeps this shape.
		return `{"jsonrpc":"2.0", "result" : ` + result + ` , "id":` + id + "}\n"
	}
	return `{"jsonrpc":"2.0","id":` + id + `,` + f.answer(req, errAnswer) + "}\n"
}

func (f *Fake) override(method string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answers[method]
}

// answer returns the raw result or error member for req.
func (f *Fake) answer(req request, errAnswer string) string {
	if req.Method == "eth_chainId" {
		return `"result":"0x` + strconv.FormatUint(f.chainID, 16) + `"`
	}
	if errAnswer != "" {
		return `"error":` + errAnswer
	}
	if o := f.override(req.Method); o != "" {
		return o
	}
	var args []json.RawMessage
	_ = json.Unmarshal(req.Params, &args)
	switch req.Method {
	case "net_version":
		return `"result":"` + strconv.FormatUint(f.chainID, 10) + `"`
	case "web3_clientVersion":
		return `"result":"fake/` + f.name + `"`
	case "eth_blockNumber":
		return `"result":"0x10"`
	case "eth_syncing":
		return `"result":false`
	case "eth_getBalance":
		return `"result":` + Balance
	case "eth_getTransactionByHash":
		return `"result":null`
	case "eth_getLogs":
		return `"result":[]`
	case "eth_getCode":
		return `"result":"0x"`
	case "eth_call":
		return callAnswer(args)
	case "eth_sendRawTransaction":
		return `"error":` + SendRawError
	case "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter",
		"eth_getFilterChanges", "eth_getFilterLogs", "eth_uninstallFilter":
		return f.filterAnswer(req.Method, args)
	}
	msg, _ := json.Marshal("the method " + req.Method + " does not exist/is not available")
	return `"error":{"code":-32601,"message":` + string(msg) + `}`
}

// callAnswer is eth_call's: a revert for data 0xdead, else CallResult.
func callAnswer(args []json.RawMessage) string {
	var call struct {
		Data  string `json:"data"`
		Input string `json:"input"`
	}
	if len(args) > 0 {
		_ = json.Unmarshal(args[0], &call)
	}
	if call.Data == "0xdead" || call.Input == "0xdead" {
		return `"error":` + RevertError
	}
	return `"result":` + CallResult
}

// filterAnswer keeps the fake's own filters: ids it made answer polls
// with [], others "filter not found".
func (f *Fake) filterAnswer(method string, args []json.RawMessage) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter":
		f.nextFilter++
		id := fmt.Sprintf("0x%s%04x", hex.EncodeToString([]byte(f.name)), f.nextFilter)
		f.filters[id] = true
		return `"result":"` + id + `"`
	}
	var id string
	if len(args) == 1 {
		_ = json.Unmarshal(args[0], &id)
	}
	known := f.filters[id]
	switch {
	case method == "eth_uninstallFilter":
		delete(f.filters, id)
		return `"result":` + strconv.FormatBool(known)
	case known:
		return `"result":[]`
	}
	return `"error":{"code":-32000,"message":"filter not found"}`
}
