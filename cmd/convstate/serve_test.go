package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// servedAt is what a running `convstate serve` reported in its log.
type servedAt struct {
	grpc, metrics, db string
}

var (
	servingRE = regexp.MustCompile(`msg="convstate serving" grpc=(\S+) db=(\S+)`)
	metricsRE = regexp.MustCompile(`msg="metrics serving" addr=(\S+)`)
)

// startServe runs `convstate serve args...` in-process until the test ends and
// returns the addresses it logged, read from its log as an operator would.
func startServe(t *testing.T, getenv func(string) string, args ...string) servedAt {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), getenv, strings.NewReader(""), io.Discard, pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var s servedAt
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if m := servingRE.FindStringSubmatch(line); m != nil {
			s.grpc, s.db = m[1], m[2]
		}
		if m := metricsRE.FindStringSubmatch(line); m != nil {
			s.metrics = m[1]
		}
		if s.grpc != "" && (s.metrics != "" || strings.Contains(strings.Join(args, " "), "--metrics-listen off")) {
			break
		}
	}
	go io.Copy(io.Discard, pr) // keep draining the log
	if s.grpc == "" {
		t.Fatalf("serve did not report where it listens")
	}
	return s
}

func noEnv(string) string { return "" }

func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	s := startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", db, "--metrics-listen", "127.0.0.1:0")
	if s.db != db {
		t.Errorf("logged db %q, want %q", s.db, db)
	}
	conn, err := grpc.NewClient(s.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "convstate.v1.WindowService"})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", r, err)
	}
	resp, err := http.Get(s.metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"grpc_server_handled_total", "convstate_window_discrepancies_total", "go_goroutines",
		"convstate_store_log_syncs_total", "convstate_store_updates_total", "convstate_store_flushes_total",
		"convstate_store_flush_seconds_total", "convstate_store_flush_wait_seconds_total",
		"convstate_store_fact_filter_builds_total 1", "convstate_store_fact_filter_keys",
		"convstate_store_fact_generations 1"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestServeEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	env := map[string]string{"CONVSTATE_LISTEN": "127.0.0.1:0", "CONVSTATE_DB": db, "CONVSTATE_METRICS_LISTEN": "off"}
	s := startServe(t, func(k string) string { return env[k] }, "--metrics-listen", "off")
	if s.db != db || !strings.HasPrefix(s.grpc, "127.0.0.1:") {
		t.Errorf("served at %+v, want the environment's listen address and db", s)
	}
}

// TestSecondProcessFailsFast: a database held by a running server gives a clear
// error within the lock timeout instead of hanging.
func TestSecondProcessFailsFast(t *testing.T) {
	db := filepath.Join(t.TempDir(), "locked.db")
	startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", db, "--metrics-listen", "off")
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"serve", "--listen", "127.0.0.1:0", "--db", db, "--metrics-listen", "off", "--lock-timeout", "200ms"},
		noEnv, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second serve on the same file: %v, want an 'in use by another process' error", err)
	}
}

func TestServeHelpDocumentsEveryFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"serve", "--help"}, noEnv, strings.NewReader(""), io.Discard, &stderr)
	if !errors.Is(err, errHelp()) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"--listen", "127.0.0.1:50051", "$CONVSTATE_LISTEN", "--db", "$CONVSTATE_DB", "--metrics-listen",
		"--rate-card", "--margin", "1m0s", "--max-skew", "--service-free-allowance", "--max-batch", "--shutdown-grace", "--lock-timeout",
		"--log-level", "--log-format"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestServeBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--margin", "-1s"}, nil, "must not be negative"},
		{[]string{"--max-batch", "20000"}, nil, "exceeds the API limit"},
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--rate-card", "/nonexistent/card.csv"}, nil, "--rate-card"},
		{nil, map[string]string{"CONVSTATE_MARGIN": "soon"}, "$CONVSTATE_MARGIN"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--listen", "256.0.0.1:1", "--db", "DBPATH", "--insecure"}, nil, "--listen"},
		{[]string{"--tls-cert", "x.pem"}, nil, "go together"},
		{[]string{"--rate-limit", "-1"}, nil, "must not be negative"},
	}
	for _, tt := range tests {
		db := filepath.Join(t.TempDir(), "bad.db")
		for i, a := range tt.args {
			if a == "DBPATH" {
				tt.args[i] = db
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := run(ctx, append([]string{"serve", "--metrics-listen", "off", "--db", db}, tt.args...), func(k string) string { return tt.env[k] },
			strings.NewReader(""), io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %v: %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
}

func errHelp() error { return flag.ErrHelp }
