package main

// End-to-end tests of `convstate replay`: the golden scenarios of testdata/replay
// (in-process, against a live server built with server.New, and against a real
// `convstate serve`), the generated free-tier / allowance boundaries, exit status,
// and a million-line streaming run.
//
// The golden files are the expected output written from the rules
// (design.md §2, whatsapp-rules.md), not recordings of the tool: `-update` rewrites
// them from the tool's output, so review every changed line against the rules
// before committing it (`go test ./cmd/convstate -run Replay -update`).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/server"
	"github.com/convstate/convstate/store"
)

var update = flag.Bool("update", false, "rewrite testdata/replay/*.golden from the replay's output (review the diff against the rules!)")

const (
	replayDir   = "../../testdata/replay"
	replayCards = replayDir + "/cards.csv"
)

// knownBugs are golden scenarios whose expected output (written from the rules)
// the engine does not produce yet. Each is skipped with the bug's description so
// the suite stays green and the bug stays visible; remove the entry with the fix.
var knownBugs = map[string]string{}

// serveFiles are the scenarios also replayed against a real `convstate serve`.
// serve ADDS --rate-card files to the embedded cards (replay --rate-card uses only
// the files), so only scenarios whose every delivery falls between 2025-07-01 and
// 2025-09-30 (where testdata's 2025-07-01 card replaces the embedded one and no
// other embedded card is in force) give the same output.
var serveFiles = map[string]bool{
	"csw": true, "statuses": true, "forceclose": true, "pmp2025": true,
	"tiers": true, "margin": true, "explain": true,
}

// normalize is where output that depends on the wall clock would be masked; the
// replay's output does not (errors about future timestamps name the timestamp and
// the allowed skew, not the distance from now).
func normalize(out string) string { return out }

// replayResult is what one `convstate replay` run produced.
type replayResult struct {
	stdout, stderr string
	err            error
}

// runReplayCmd runs `convstate replay args...` in-process with stdin.
func runReplayCmd(t *testing.T, stdin io.Reader, args ...string) replayResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	err := run(context.Background(), append([]string{"replay"}, args...), noEnvironment, stdin, &stdout, &stderr)
	return replayResult{stdout.String(), stderr.String(), err}
}

func noEnvironment(string) string { return "" }

// scenarioArgs reads the extra replay flags of a scenario from its "# args: ..."
// comment line (comment lines are skipped by the replay).
func scenarioArgs(t *testing.T, input string) []string {
	t.Helper()
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# args:"); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

// expectsFailure reports whether a golden output has an error line: the replay
// must then exit with status 1.
func expectsFailure(golden string) bool { return strings.Contains(golden, `,"error":{`) }

func checkExit(t *testing.T, r replayResult, wantFail bool) {
	t.Helper()
	var ec exitCode
	switch {
	case wantFail && !(errors.As(r.err, &ec) && ec == 1):
		t.Errorf("replay returned %v, want exit status 1 (a fact failed); stderr:\n%s", r.err, r.stderr)
	case wantFail && !regexp.MustCompile(`replay: \d+ of \d+ facts failed`).MatchString(r.stderr):
		t.Errorf("stderr does not say how many facts failed:\n%s", r.stderr)
	case !wantFail && r.err != nil:
		t.Errorf("replay returned %v, want success; stderr:\n%s", r.err, r.stderr)
	}
}

// diffLines compares outputs line by line, so a failure names the lines.
func diffLines(want, got string) string {
	return cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n"))
}

// liveServer starts the production server (server.New) on a loopback TCP port with
// an engine that has exactly the cards of the given files (the cards replay
// --rate-card uses), and returns its address.
func liveServer(t *testing.T, cardFiles ...string) string {
	t.Helper()
	cs := pricing.NewCardSet()
	for _, path := range cardFiles {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cards, _, err := pricing.ParseCards(f, filepath.Base(path))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cs.Add(cards...)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "live.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := server.New(server.Deps{
		Store:   st,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: prometheus.NewRegistry(),
		Engine:  &pricing.Engine{Cards: cs, ServiceAllowance: pricing.DefaultServiceAllowance},
		Margin:  ledger.DefaultMargin,
		MaxSkew: ledger.DefaultMaxSkew,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.GracefulStop()
		<-served
		st.Close()
	})
	return lis.Addr().String()
}

// servingAddrRE finds the gRPC address in serve's "convstate serving" log line.
var servingAddrRE = regexp.MustCompile(`msg="convstate serving" grpc=(\S+)`)

// logWatcher is serve's stderr: it never blocks the server and reports the first
// address logged.
type logWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func (w *logWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if m := servingAddrRE.FindStringSubmatch(w.buf.String()); m != nil {
			w.sent = true
			w.addr <- m[1]
		}
	}
	return len(p), nil
}

func (w *logWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// realServe runs `convstate serve --listen 127.0.0.1:0` in-process until the test
// ends and returns the address it logged (the only way serve tells its port).
func realServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logWatcher{addr: make(chan string, 1)}
	done := make(chan error, 1)
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--metrics-listen", "off",
		"--db", filepath.Join(t.TempDir(), "serve.db")}, args...)
	go func() { done <- run(ctx, args, noEnvironment, strings.NewReader(""), io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs)
		}
	})
	select {
	case addr := <-logs.addr:
		return addr
	case err := <-done:
		done <- err
		t.Fatalf("serve ended before listening: %v\n%s", err, logs)
	}
	return ""
}

// TestReplayGolden replays every testdata/replay/*.jsonl in-process, against a
// live server.New, and (serveFiles) against a real `convstate serve`, and compares
// stdout with NAME.golden.
func TestReplayGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(replayDir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no scenarios in " + replayDir)
	}
	t.Setenv("TMPDIR", t.TempDir()) // the in-process replay's temporary database
	for _, input := range inputs {
		name := strings.TrimSuffix(filepath.Base(input), ".jsonl")
		t.Run(name, func(t *testing.T) {
			if bug, ok := knownBugs[name]; ok {
				t.Skip(bug)
			}
			goldenPath := strings.TrimSuffix(input, ".jsonl") + ".golden"
			args := scenarioArgs(t, input)

			r := runReplayCmd(t, nil, append(append([]string{"--rate-card", replayCards}, args...), input)...)
			got := normalize(r.stdout)
			if *update {
				if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("rewrote %s: review it against the rules", goldenPath)
			}
			wantBytes, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatal(err)
			}
			want := string(wantBytes)
			if d := diffLines(want, got); d != "" {
				t.Errorf("in-process replay of %s differs from %s (-want +got):\n%s\nstderr:\n%s", input, goldenPath, d, r.stderr)
			}
			checkExit(t, r, expectsFailure(want))

			addr := liveServer(t, replayCards)
			r = runReplayCmd(t, nil, append(append([]string{"--server", addr}, args...), input)...)
			if d := diffLines(want, normalize(r.stdout)); d != "" {
				t.Errorf("replay --server (server.New) of %s differs from %s (-want +got):\n%s\nstderr:\n%s", input, goldenPath, d, r.stderr)
			}
			checkExit(t, r, expectsFailure(want))

			if serveFiles[name] {
				addr := realServe(t, "--rate-card", replayCards)
				r = runReplayCmd(t, nil, append(append([]string{"--server", addr}, args...), input)...)
				if d := diffLines(want, normalize(r.stdout)); d != "" {
					t.Errorf("replay --server (convstate serve) of %s differs from %s (-want +got):\n%s\nstderr:\n%s", input, goldenPath, d, r.stderr)
				}
				checkExit(t, r, expectsFailure(want))
			}
		})
	}
}

// TestReplayExitStatus: 0 when every fact succeeded, 1 (and a count on stderr)
// when one failed; the replay goes on after the failure.
func TestReplayExitStatus(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ok := `{"type":"user_message","business":"b1","user":"5511987650001","id":"u1","at":"2025-08-04T10:00:00Z"}` + "\n"
	r := runReplayCmd(t, strings.NewReader(ok), "--rate-card", replayCards)
	if r.err != nil {
		t.Fatalf("clean input: replay returned %v, want nil; stderr:\n%s", r.err, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("clean short input: stderr = %q, want nothing", r.stderr)
	}

	bad := ok + `{"type":"status","business":"b1","id":"nope","status":"delivered","at":"2025-08-04T10:00:00Z"}` + "\n" +
		`{"type":"user_message","business":"b1","user":"5511987650001","id":"u2","at":"2025-08-04T11:00:00Z"}` + "\n"
	r = runReplayCmd(t, strings.NewReader(bad), "--rate-card", replayCards, "-")
	var ec exitCode
	if !errors.As(r.err, &ec) || ec != 1 {
		t.Fatalf("a failed fact: replay returned %v, want exit status 1", r.err)
	}
	if want := "replay: 1 of 3 facts failed\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], `{"line":2,"error":{"code":"NotFound"`) || lines[2] != `{"line":3,"window_expires_at":"2025-08-05T11:00:00Z"}` {
		t.Errorf("stdout: the failure is reported in order and the replay goes on; got\n%s", r.stdout)
	}
}

// TestReplayFutureSkew: design.md §2 rule 7 — a fact a little in the future (clock
// skew) is accepted, one more than the allowed skew (5 min) is rejected.
func TestReplayFutureSkew(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	soon := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	later := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	in := fmt.Sprintf(`{"type":"user_message","business":"b1","user":"5511987650001","id":"u1","at":"%s"}`+"\n"+
		`{"type":"user_message","business":"b1","user":"5511987650001","id":"u2","at":"%s"}`+"\n", soon, later)
	r := runReplayCmd(t, strings.NewReader(in), "--rate-card", replayCards)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"line":1,"window_expires_at":`) ||
		!strings.HasPrefix(lines[1], `{"line":2,"error":{"code":"InvalidArgument","message":"timestamp `+later+` is `) {
		t.Errorf("1 min ahead is accepted, 10 min ahead rejected; got\n%s", r.stdout)
	}
	checkExit(t, r, true)
}

// scenario builds a generated input and its expected output (compared as JSON).
type scenario struct {
	in   bytes.Buffer
	want []map[string]any
	line int
}

func (s *scenario) add(fact map[string]any, want map[string]any) {
	s.line++
	b, err := json.Marshal(fact)
	if err != nil {
		panic(err)
	}
	s.in.Write(append(b, '\n'))
	if want == nil {
		want = map[string]any{}
	}
	want["line"] = s.line
	s.want = append(s.want, want)
}

// deliver adds a business message and its delivered status, expecting charge.
func (s *scenario) deliver(business, user, id, tmpl, at string, charge map[string]any) {
	send := map[string]any{"type": "send", "business": business, "user": user, "id": id, "at": at}
	if tmpl != "" {
		send["template"] = tmpl
	}
	s.add(send, nil)
	s.add(map[string]any{"type": "status", "business": business, "id": id, "status": "delivered", "at": at}, map[string]any{"charge": charge})
}

func (s *scenario) userMessage(business, user, id, at, entry string) {
	m := map[string]any{"type": "user_message", "business": business, "user": user, "id": id, "at": at}
	if entry != "" {
		m["entry_point"] = entry
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	s.add(m, map[string]any{"window_expires_at": t.Add(24 * time.Hour).UTC().Format(time.RFC3339)})
}

func (s *scenario) business(id string, fields map[string]any) {
	m := map[string]any{"type": "business", "business": id}
	for k, v := range fields {
		m[k] = v
	}
	s.add(m, nil)
}

// charge is an expected CHARGE of the replay format.
func charge(amount, market, category, pricingType, rules string) map[string]any {
	model := map[string]string{"2018-08-01": "NBP", "2022-02-01": "CBP", "2023-06-01": "CBP"}[rules]
	if model == "" {
		model = "PMP"
	}
	return map[string]any{"amount": amount, "currency": "USD", "market": market, "category": category,
		"pricing_type": pricingType, "model": model, "rules": rules}
}

// check compares a replay's output with the expected lines as JSON values.
func (s *scenario) check(t *testing.T, stdout string) {
	t.Helper()
	var got []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	// Round-trip the expectations so numbers compare as float64 on both sides.
	b, _ := json.Marshal(s.want)
	var want []map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output differs (-want +got):\n%s", d)
	}
}

// brazil returns the i-th generated Brazilian mobile number.
func brazil(i int) string { return fmt.Sprintf("55119%08d", i) }

// stamp returns base + i seconds in RFC 3339.
func stamp(base string, i int) string {
	t, err := time.Parse(time.RFC3339, base)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339)
}

// TestReplayFreeTierBoundaries generates the 1,000 boundaries that a readable
// golden file cannot reach: the 2022 free tier (1,000 conversations a month per
// WABA), the 2023 free service tier (1,000 service conversations a month per WABA
// until 2024-10-31, free from 2024-11-01) and the 2026 service allowance (1,000
// free-form messages a month per business number, the default), each with its
// scope and its month rollover in the business's time zone. Expected values come
// from whatsapp-rules.md §3.4, §3.5, §3.7 and testdata/replay/cards.csv.
func TestReplayFreeTierBoundaries(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cases := map[string]func(s *scenario){
		// 2022: bA1 (Sao Paulo) and bA2 (UTC) share WABA W1; bA3 has its own.
		"cbp2022": func(s *scenario) {
			const R = "2022-02-01"
			s.business("bA1", map[string]any{"waba": "W1", "timezone": "America/Sao_Paulo"})
			s.business("bA2", map[string]any{"waba": "W1"})
			free := charge("0", "Brazil", "business_initiated", "free_tier", R)
			for i := 0; i < 600; i++ {
				s.deliver("bA1", brazil(i), fmt.Sprintf("a%d", i), "marketing", stamp("2022-03-02T12:00:00Z", i), free)
			}
			for i := 600; i < 999; i++ {
				s.deliver("bA2", brazil(i), fmt.Sprintf("a%d", i), "utility", stamp("2022-03-02T12:00:00Z", i), free)
			}
			// A free entry point conversation is free and does not use the free tier.
			s.userMessage("bA2", brazil(5000), "ufep", "2022-03-03T10:00:00Z", "ctwa_ad")
			s.deliver("bA2", brazil(5000), "fep", "", "2022-03-03T10:01:00Z", charge("0", "Brazil", "user_initiated", "free_entry_point", R))
			s.deliver("bA1", brazil(999), "a999", "marketing", "2022-03-04T12:00:00Z", free) // the 1,000th of W1
			s.deliver("bA1", brazil(1000), "a1000", "marketing", "2022-03-04T12:01:00Z",
				charge("0.0216", "Brazil", "business_initiated", "regular", R)) // the 1,001st: charged
			s.userMessage("bA2", brazil(1001), "u1001", "2022-03-04T12:02:00Z", "")
			s.deliver("bA2", brazil(1001), "a1001", "", "2022-03-04T12:03:00Z",
				charge("0.0217", "Brazil", "user_initiated", "regular", R)) // user-initiated, charged
			s.deliver("bA3", brazil(1002), "a1002", "marketing", "2022-03-04T12:04:00Z", free) // another WABA
			// Month rollover in each business's zone.
			s.deliver("bA1", brazil(1003), "a1003", "marketing", "2022-04-01T02:00:00Z",
				charge("0.0216", "Brazil", "business_initiated", "regular", R)) // Mar 31 23:00 in Sao Paulo
			s.deliver("bA2", brazil(1004), "a1004", "marketing", "2022-04-01T02:00:00Z", free) // April in UTC
			s.deliver("bA1", brazil(1005), "a1005", "marketing", "2022-04-01T03:00:00Z", free) // Apr 1 00:00 in Sao Paulo
		},
		// 2023 rules: only service conversations use the free tier, until 2024-10-31.
		"cbp2023": func(s *scenario) {
			const R = "2023-06-01"
			s.deliver("bB", brazil(9000), "mk", "marketing", "2024-10-01T09:00:00Z",
				charge("0.0311", "Brazil", "marketing", "regular", R)) // not in the free tier
			for i := 0; i < 1001; i++ {
				at := stamp("2024-10-02T10:00:00Z", 2*i)
				s.userMessage("bB", brazil(i), fmt.Sprintf("u%d", i), at, "")
				want := charge("0", "Brazil", "service", "free_tier", R)
				if i == 1000 {
					want = charge("0.0315", "Brazil", "service", "regular", R) // the 1,001st service conversation
				}
				s.deliver("bB", brazil(i), fmt.Sprintf("s%d", i), "", stamp("2024-10-02T10:00:00Z", 2*i+1), want)
			}
			for i := 0; i < 1001; i++ { // November 2024: service is free, however many
				at := stamp("2024-11-02T10:00:00Z", 2*i)
				s.userMessage("bB", brazil(i), fmt.Sprintf("v%d", i), at, "")
				s.deliver("bB", brazil(i), fmt.Sprintf("t%d", i), "", stamp("2024-11-02T10:00:00Z", 2*i+1),
					charge("0", "Brazil", "service", "free_customer_service", R))
			}
		},
		// 2026: bC1 and bC2 share WABA and portfolio; the allowance is per number.
		"pmp2026": func(s *scenario) {
			const R = "2026-10-01"
			s.business("bC1", map[string]any{"waba": "W2", "portfolio": "P2"})
			s.business("bC2", map[string]any{"waba": "W2", "portfolio": "P2"})
			x, z := brazil(1), "14165550123"
			s.userMessage("bC1", x, "ux", "2026-10-05T10:00:00Z", "")
			s.userMessage("bC1", z, "uz", "2026-10-05T10:00:00Z", "")
			for i, rate := range []string{"0.0612", "0.0612", "0.0612", "0.06121"} { // utility tiers move on
				s.deliver("bC1", x, fmt.Sprintf("ut%d", i), "utility", stamp("2026-10-05T10:00:01Z", i),
					charge(rate, "Brazil", "utility", "regular", R))
			}
			s.userMessage("bC1", brazil(2), "ufep", "2026-10-05T10:00:00Z", "page_cta")
			s.deliver("bC1", brazil(2), "fep", "", "2026-10-05T10:01:00Z",
				charge("0", "Brazil", "service", "free_entry_point", R)) // not in the allowance
			for i := 0; i < 1000; i++ {
				s.deliver("bC1", x, fmt.Sprintf("f%d", i), "", stamp("2026-10-05T11:00:00Z", i),
					charge("0", "Brazil", "service", "free_tier", R))
			}
			// The 1,001st: Brazil has no service row -> the utility BASE rate (no tiers).
			s.deliver("bC1", x, "f1000", "", "2026-10-05T12:00:00Z", charge("0.0612", "Brazil", "service", "regular", R))
			// North America has a service row on the card.
			s.deliver("bC1", z, "f1001", "", "2026-10-05T12:01:00Z", charge("0.0625", "North America", "service", "regular", R))
			s.userMessage("bC2", x, "ux2", "2026-10-05T12:00:00Z", "")
			s.deliver("bC2", x, "g0", "", "2026-10-05T12:02:00Z", charge("0", "Brazil", "service", "free_tier", R)) // per number
			s.userMessage("bC1", x, "ux3", "2026-10-31T23:00:00Z", "")
			s.deliver("bC1", x, "h0", "", "2026-11-01T00:00:00Z", charge("0", "Brazil", "service", "free_tier", R)) // November
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			s := &scenario{}
			build(s)
			input := filepath.Join(t.TempDir(), name+".jsonl")
			if err := os.WriteFile(input, s.in.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runReplayCmd(t, nil, "--rate-card", replayCards, input)
			if r.err != nil {
				t.Fatalf("replay: %v\n%s", r.err, r.stderr)
			}
			s.check(t, r.stdout)
			r = runReplayCmd(t, nil, "--server", liveServer(t, replayCards), input)
			if r.err != nil {
				t.Fatalf("replay --server: %v\n%s", r.err, r.stderr)
			}
			s.check(t, r.stdout)
		})
	}
}

// lineSink counts output lines without keeping them, remembers the last one and
// samples the live heap as the replay streams. Each sample collects first: the
// bound is about what the replay retains (its input or output would be hundreds of
// megabytes), not about how much garbage the collector lets pile up between
// cycles, which varies from run to run.
type lineSink struct {
	lines    int
	partial  []byte
	last     string
	peakHeap uint64
}

func (s *lineSink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			break
		}
		line := append(s.partial, p[:i]...)
		s.partial = s.partial[:0]
		s.lines++
		if s.lines%50_000 == 0 {
			s.sample()
		}
		s.last = string(line)
		p = p[i+1:]
	}
	return n, nil
}

func (s *lineSink) sample() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.peakHeap = max(s.peakHeap, m.HeapAlloc)
}

// TestReplayMillionLines streams a generated million-line input through the
// in-process replay (an io.Pipe writer goroutine, so the input never exists as a
// whole) and checks the output count, the last line, the heap and the progress
// lines. About a minute on the 2-core machine: skipped with -short.
func TestReplayMillionLines(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1,000,000 lines (about a minute): skipped in -short mode")
	}
	t.Setenv("TMPDIR", t.TempDir())
	const (
		cycles = 333_333 // user message, send, delivered
		users  = 50_000
		total  = 3*cycles + 1 // and a final check
	)
	day := func(i int) int { return 1 + (i/users)%28 }
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		for i := 0; i < cycles; i++ {
			u, d := brazil(i%users), day(i)
			tmpl := "utility"
			if i%10 == 0 {
				tmpl = "marketing"
			}
			fmt.Fprintf(w, `{"type":"user_message","business":"b1","user":"%s","id":"u%d","at":"2025-08-%02dT10:00:00Z"}`+"\n", u, i, d)
			fmt.Fprintf(w, `{"type":"send","business":"b1","user":"%s","id":"m%d","at":"2025-08-%02dT10:01:00Z","template":"%s"}`+"\n", u, i, d, tmpl)
			fmt.Fprintf(w, `{"type":"status","business":"b1","id":"m%d","status":"delivered","at":"2025-08-%02dT10:02:00Z"}`+"\n", i, d)
		}
		fmt.Fprintf(w, `{"type":"check","business":"b1","user":"%s","at":"2025-08-%02dT12:00:00Z"}`+"\n", brazil(0), day(cycles-1-(cycles-1)%users))
		pw.CloseWithError(w.Flush())
	}()

	// The last activity of user 0 is the last cycle i with i % users == 0.
	lastDay := day(cycles - 1 - (cycles-1)%users)
	wantLast := fmt.Sprintf(`{"line":%d,"free_form_allowed":true,"template_required":false,"window_expires_at":"2025-08-%02dT10:00:00Z","fep_expires_at":null,`+
		`"quote":{"amount":"0","currency":"USD","market":"Brazil","category":"service","pricing_type":"free_customer_service","model":"PMP","rules":"2025-07-01"}}`,
		total, lastDay+1)

	sink := &lineSink{}
	var stderr bytes.Buffer
	sink.sample()
	before := sink.peakHeap
	start := time.Now()
	err := run(context.Background(), []string{"replay", "--rate-card", replayCards}, noEnvironment, pr, sink, &stderr)
	elapsed := time.Since(start)
	sink.sample()
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	t.Logf("%d lines in %v (%.0f lines/s); live heap before %d MB, peak sampled %d MB",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), before>>20, sink.peakHeap>>20)
	if sink.lines != total {
		t.Errorf("%d output lines, want %d (one per input line)", sink.lines, total)
	}
	if sink.last != wantLast {
		t.Errorf("last line:\n got %s\nwant %s", sink.last, wantLast)
	}
	const limit = 200 << 20
	if sink.peakHeap > limit {
		t.Errorf("peak live heap %d MB, want below %d MB: the replay holds its input or output", sink.peakHeap>>20, limit>>20)
	}
	if elapsed > 3*time.Second { // the default ProgressEvery
		if !strings.Contains(stderr.String(), "replay: replaying: ") || !strings.Contains(stderr.String(), fmt.Sprintf("replay: done: %d lines, %d facts, 0 errors", total, total)) {
			t.Errorf("a long replay prints progress to stderr; got:\n%s", stderr.String())
		}
	}
}
