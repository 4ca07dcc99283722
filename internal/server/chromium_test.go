package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/await"
)

// A headless Chromium driven over the DevTools protocol, for the status
// page's end-to-end test: one page target, commands with replies, and the
// console errors, uncaught exceptions and error log entries the page
// produced.

// chromiumPath finds Debian's chromium; scripts/test.sh installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the status page test needs a headless Chromium. " +
		"./scripts/test.sh installs Debian's chromium package when it is missing " +
		"(or run: apt-get install chromium)")
	return ""
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type cdpMessage struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
	cdpReply
}

// browser is a running Chromium with one page attached.
type browser struct {
	t       *testing.T
	conn    *websocket.Conn
	session string

	mu       sync.Mutex
	nextID   int64
	waiting  map[int64]chan cdpReply
	problems []string             // console errors, exceptions, error log entries
	events   map[string]chan bool // method → signalled when it arrives
}

// startChromium starts a headless Chromium (no network beyond loopback:
// background networking off) and opens a blank page in it. Everything
// ends when the test does.
func startChromium(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath(t)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The whole process group: the browser and the renderers it forked.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	endpoint, log := devtoolsEndpoint(stderr, 30*time.Second)
	if endpoint == "" {
		t.Fatalf("chromium did not announce its DevTools endpoint within 30s; it wrote:\n%s", log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, endpoint, nil)
	if err != nil {
		t.Fatalf("DevTools %s: %v", endpoint, err)
	}
	conn.SetReadLimit(64 << 20) // full-page screenshots
	t.Cleanup(func() { _ = conn.CloseNow() })
	b := &browser{t: t, conn: conn, waiting: map[int64]chan cdpReply{}, events: map[string]chan bool{}}
	go b.read()
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	for _, domain := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		b.call(domain, nil, nil)
	}
	return b
}

// devtoolsEndpoint reads Chromium's stderr until it names its DevTools
// WebSocket, and keeps draining it afterwards.
func devtoolsEndpoint(stderr interface{ Read([]byte) (int, error) }, wait time.Duration) (string, string) {
	found := make(chan string, 1)
	var mu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			if log.Len() < 16<<10 {
				log.WriteString(line + "\n")
			}
			mu.Unlock()
			if _, url, ok := strings.Cut(line, "DevTools listening on "); ok {
				select {
				case found <- strings.TrimSpace(url):
				default:
				}
			}
		}
	}()
	select {
	case url := <-found:
		return url, ""
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		return "", log.String()
	}
}

func (b *browser) read() {
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.waiting[m.ID]; ok {
				ch <- m.cdpReply
				delete(b.waiting, m.ID)
			}
		} else {
			b.event(m)
		}
		b.mu.Unlock()
	}
}

// event notes what a page event says; b.mu is held.
func (b *browser) event(m cdpMessage) {
	if ch, ok := b.events[m.Method]; ok {
		select {
		case ch <- true:
		default:
		}
	}
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(m.Params, &p) == nil && (p.Type == "error" || p.Type == "assert") {
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %v", p.Type, p.Args))
		}
	case "Runtime.exceptionThrown":
		b.problems = append(b.problems, "uncaught exception: "+string(m.Params))
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level  string `json:"level"`
				Source string `json:"source"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" {
			b.problems = append(b.problems, fmt.Sprintf("log %s: %s %s", p.Entry.Source, p.Entry.Text, p.Entry.URL))
		}
	}
}

// call sends a command to the page (the browser before one is attached)
// and decodes its result into out (when not nil).
func (b *browser) call(method string, params any, out any) {
	b.t.Helper()
	if err := b.try(method, params, out); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) try(method string, params any, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if b.session != "" {
		msg["sessionId"] = b.session
	}
	data, _ := json.Marshal(msg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		switch {
		case !ok:
			return fmt.Errorf("%s: DevTools connection closed", method)
		case r.Error != nil:
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		case out != nil:
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: no reply within 30s", method)
	}
}

// navigate loads url and waits for its load event.
func (b *browser) navigate(url string) {
	b.t.Helper()
	loaded := make(chan bool, 1)
	b.mu.Lock()
	b.events["Page.loadEventFired"] = loaded
	b.mu.Unlock()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	b.call("Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		b.t.Fatalf("navigating to %s: %s", url, nav.ErrorText)
	}
	select {
	case <-loaded:
	case <-time.After(30 * time.Second):
		b.t.Fatalf("%s did not finish loading within 30s", url)
	}
}

// eval runs a JavaScript expression in the page (awaiting a promise) and
// decodes its JSON-able value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
	if e := r.ExceptionDetails; e != nil {
		b.t.Fatalf("evaluating %.80q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(r.Result.Value, out); err != nil {
			b.t.Fatalf("evaluating %.80q: result %s: %v", expr, r.Result.Value, err)
		}
	}
}

// waitFor evaluates cond (a boolean expression) until it is true; if it
// is not within the time, the test fails with what and the value of
// explain (an expression).
func (b *browser) waitFor(what, cond, explain string, within time.Duration) {
	b.t.Helper()
	if await.Poll(within, func() bool {
		var ok bool
		b.eval("(() => { try { return Boolean("+cond+"); } catch (e) { return false; } })()", &ok)
		return ok
	}) {
		return
	}
	var why any
	b.eval("(() => { try { return String("+explain+"); } catch (e) { return String(e); } })()", &why)
	b.t.Fatalf("%s: not within %s (%v)", what, within, why)
}

// viewport sets the page's size; mobile emulates a phone.
func (b *browser) viewport(width, height int, mobile bool) {
	b.t.Helper()
	scale := 1
	if mobile {
		scale = 2
	}
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile}, nil)
}

// screenshot saves the page (whole, or what the viewport shows) as a PNG
// in the repository's artifacts/ folder (ignored by git) and returns its
// path.
func (b *browser) screenshot(name string, whole bool) string {
	b.t.Helper()
	var shot struct {
		Data string `json:"data"`
	}
	b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": whole}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) == 0 {
		b.t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	dir := filepath.Join("..", "..", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// problemList returns what went wrong in the page so far.
func (b *browser) problemList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}
