package clients_test

// These tests prove the TypeScript and Python examples against a live server: each starts
// `convstate serve` on a free loopback port with a temporary database, runs one example
// against it and checks the decision it prints.
//
// They skip when the language's runtime is missing (node_modules from `npm ci`;
// /usr/bin/python3 with Debian's python3-grpcio and python3-protobuf). CI sets
// CONVSTATE_REQUIRE_CLIENTS=1, which turns those skips into failures.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/convstate/convstate/auth"
	"github.com/convstate/convstate/client"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/internal/testpki"
)

// The pair the examples record a message for.
const (
	businessID = "106540352242922"
	userID     = "5511987654321"
)

var (
	repoRoot string // the module root: the examples run from there
	binDir   string // where the server binary is built, once

	buildOnce sync.Once
	serverBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd() // go test runs in the package directory, clients/
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	binDir, err = os.MkdirTemp("", "convstate-clients-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	return m.Run()
}

// requireOrSkip skips the test, or fails it when CONVSTATE_REQUIRE_CLIENTS=1 (CI).
func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if os.Getenv("CONVSTATE_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("%s (CONVSTATE_REQUIRE_CLIENTS=1, so this may not be skipped)", reason)
	}
	t.Skip(reason)
}

// build builds cmd/convstate once for all tests.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		serverBin = filepath.Join(binDir, "convstate")
		cmd := exec.Command("go", "build", "-o", serverBin, "./cmd/convstate")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/convstate: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return serverBin
}

// server is a running `convstate serve`.
type server struct {
	addr string
	mu   sync.Mutex
	log  bytes.Buffer // everything the server wrote to stderr
	// env is what the examples need to reach it (token, CA); opts the Go client's.
	env  []string
	opts []client.Option
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var servingAddr = regexp.MustCompile(`msg="convstate serving" .*\bgrpc=(\S+)`)

// startServer starts `convstate serve` on a free loopback port with a database in a
// temporary directory, and stops it (SIGTERM, then wait) when the test ends. It learns the
// port from the server's "convstate serving" log line.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	bin := build(t)
	cmd := exec.Command(bin, append([]string{"serve",
		"--listen", "127.0.0.1:0",
		"--metrics-listen", "off",
		"--db", filepath.Join(t.TempDir(), "convstate.db"),
		"--log-format", "text", "--log-level", "info", // the serving line is parsed below
	}, extra...)...)
	cmd.Env = serverEnv() // only the flags above configure it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{}
	addrc := make(chan string, 1)
	readDone := make(chan struct{})
	go func() { // reads stderr to the end, so the server never blocks on a full pipe
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(line); m != nil && !found {
				found = true
				addrc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // a line too long for the scanner: keep draining
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-readDone:
		case <-time.After(20 * time.Second):
			t.Errorf("convstate did not stop within 20s of SIGTERM; killing it\n%s", s.logText())
			_ = cmd.Process.Kill()
			<-readDone
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("convstate serve exited with %v after SIGTERM\n%s", err, s.logText())
		}
	})

	select {
	case s.addr = <-addrc:
		t.Logf("convstate serving on %s", s.addr)
		return s
	case <-readDone:
		t.Fatalf("convstate serve exited before serving\n%s", s.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("no \"convstate serving\" line from convstate serve within 30s\n%s", s.logText())
	}
	return nil
}

// serverEnv is the test's environment without CONVSTATE_* variables, which would
// otherwise set the server's defaults (e.g. an auth token file).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONVSTATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// decision is the JSON line both examples print.
type decision struct {
	FreeFormAllowed *bool   `json:"free_form_allowed"`
	Reason          string  `json:"reason"`
	WindowExpiresAt *string `json:"window_expires_at"`
	SendBefore      *string `json:"send_before"`
	MessageID       string  `json:"message_id"`
}

// runExample runs an example program from the repository root against srv and checks
// the decision it prints: a fresh message was recorded just now, so free-form is allowed
// and the window expires 24 h after that message.
func runExample(t *testing.T, srv *server, msgPrefix string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append(args, srv.addr)...)
	cmd.Dir = repoRoot
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), srv.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := time.Now()
	err := cmd.Run()
	after := time.Now()
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s\nserver log:\n%s", cmd, err, &stdout, &stderr, srv.logText())
	}
	t.Logf("%s took %v", cmd, after.Sub(before).Round(time.Millisecond))

	out := strings.TrimSpace(stdout.String())
	if out == "" || strings.Contains(out, "\n") {
		t.Fatalf("want exactly one JSON line on stdout, got:\n%s\nstderr:\n%s", out, &stderr)
	}
	var d decision
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	t.Logf("decision: %s", out)

	if d.FreeFormAllowed == nil || !*d.FreeFormAllowed {
		t.Errorf("free_form_allowed = %v, want true", boolStr(d.FreeFormAllowed))
	}
	if d.Reason != "DECISION_REASON_WINDOW_OPEN" {
		t.Errorf("reason = %q, want DECISION_REASON_WINDOW_OPEN", d.Reason)
	}
	if !strings.HasPrefix(d.MessageID, msgPrefix) {
		t.Errorf("message_id = %q, want prefix %q", d.MessageID, msgPrefix)
	}
	expires := parseRFC3339(t, "window_expires_at", d.WindowExpiresAt)
	sendBefore := parseRFC3339(t, "send_before", d.SendBefore)
	// The message was stamped between before and after (the server truncates nothing
	// coarser than a microsecond; allow a second for clock granularity).
	lo, hi := before.Add(24*time.Hour-time.Second), after.Add(24*time.Hour+time.Second)
	if expires.Before(lo) || expires.After(hi) {
		t.Errorf("window_expires_at = %v, want now+24h, in [%v, %v]", expires, lo, hi)
	}
	if !sendBefore.Before(expires) {
		t.Errorf("send_before = %v, want before window_expires_at %v (the safety margin)", sendBefore, expires)
	}

	// The example talked to this server: the pair's stored window is the one printed.
	c, err := client.New(srv.addr, srv.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.GetPair(ctx, &convstatev1.GetPairRequest{BusinessId: businessID, UserId: userID})
	if err != nil {
		t.Fatalf("GetPair: %v", err)
	}
	if got := p.GetWindowExpiresAt().AsTime(); !got.Equal(expires) {
		t.Errorf("server's window_expires_at for the pair = %v, the example printed %v", got, expires)
	}
}

func parseRFC3339(t *testing.T, field string, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatalf("%s missing or null", field)
	}
	ts, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatalf("%s = %q is not RFC 3339: %v", field, *s, err)
	}
	return ts
}

func boolStr(b *bool) string {
	if b == nil {
		return "missing"
	}
	return fmt.Sprint(*b)
}

func TestTypeScriptExample(t *testing.T) {
	t.Parallel()
	tsx := filepath.Join(repoRoot, "node_modules", ".bin", "tsx")
	if _, err := os.Stat(tsx); err != nil {
		requireOrSkip(t, "TypeScript example: %s missing; run `npm ci` in the repository root", tsx)
	}
	if _, err := exec.LookPath("npx"); err != nil {
		requireOrSkip(t, "TypeScript example: npx not on PATH (install Node.js and npm)")
	}
	srv := startServer(t)
	runExample(t, srv, "wamid.ts-", "npx", "tsx", "clients/ts/example.ts")
}

func TestPythonExample(t *testing.T) {
	t.Parallel()
	const python = "/usr/bin/python3" // Debian's, which has python3-grpcio and python3-protobuf
	if _, err := os.Stat(python); err != nil {
		requireOrSkip(t, "Python example: %s missing", python)
	}
	out, err := exec.Command(python, "-c", "import grpc, google.protobuf").CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		requireOrSkip(t, "Python example: %s cannot import grpc and protobuf (apt-get install python3-grpcio python3-protobuf): %s",
			python, bytes.TrimSpace(out))
	}
	srv := startServer(t)
	runExample(t, srv, "wamid.py-", python, "clients/python/example.py")
}

// startSecureServer starts convstate serve with TLS and a token file, and tells the
// examples (CONVSTATE_TOKEN, CONVSTATE_TLS_CA) and the Go client how to reach it.
func startSecureServer(t *testing.T) *server {
	t.Helper()
	p := testpki.New(t)
	token, line, err := auth.Mint("example", auth.Read|auth.Write, []string{businessID})
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--tls-cert", p.ServerCert, "--tls-key", p.ServerKey, "--auth-tokens", tokens)
	pem, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	srv.env = []string{"CONVSTATE_TOKEN=" + token, "CONVSTATE_TLS_CA=" + p.CA}
	srv.opts = []client.Option{client.WithTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), client.WithToken(token)}
	return srv
}

// TestExamplesWithTokenAndTLS: the examples take the same security as the Go client.
func TestExamplesWithTokenAndTLS(t *testing.T) {
	t.Run("typescript", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(repoRoot, "node_modules", ".bin", "tsx")); err != nil {
			requireOrSkip(t, "TypeScript example: run `npm ci`")
		}
		runExample(t, startSecureServer(t), "wamid.ts-", "npx", "tsx", "clients/ts/example.ts")
	})
	t.Run("python", func(t *testing.T) {
		if err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").Run(); err != nil {
			requireOrSkip(t, "Python example: /usr/bin/python3 cannot import grpc and protobuf")
		}
		runExample(t, startSecureServer(t), "wamid.py-", "/usr/bin/python3", "clients/python/example.py")
	})
}
