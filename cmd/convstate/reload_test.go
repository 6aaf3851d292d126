package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/convstate/convstate/auth"
	"github.com/convstate/convstate/client"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/internal/testpki"
)

var metricsAddrRE = regexp.MustCompile(`msg="metrics serving" addr=(\S+)`)

// logLines follows a subprocess's stderr.
type logLines chan string

// waitFor returns the first line from now on that contains all of parts; it fails
// the test if serve ends, or says nothing of the kind for 20 s.
func (l logLines) waitFor(t *testing.T, parts ...string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-l:
			if !ok {
				t.Fatalf("serve ended while waiting for a line with %q", parts)
			}
			if all(line, parts) {
				return line
			}
		case <-timeout:
			t.Fatalf("no log line with %q", parts)
		}
	}
}

func all(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestReloadOnSIGHUP: the real binary with a token file and mutual TLS. After the files
// change and SIGHUP arrives, a removed token is refused and its open watch stream ends,
// an added token works, the new certificate and client CA are in force for new
// connections, and a broken token file keeps the tokens loaded before.
func TestReloadOnSIGHUP(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	put := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(file(name)+".tmp", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file(name)+".tmp", file(name)); err != nil { // as an editor or a deploy would
			t.Fatal(err)
		}
	}
	copyFrom := func(name, src string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		put(name, b)
	}
	install := func(p testpki.PKI) {
		copyFrom("cert.pem", p.ServerCert)
		copyFrom("key.pem", p.ServerKey)
		copyFrom("ca.pem", p.CA)
	}
	oldPKI, newPKI := testpki.New(t), testpki.New(t)
	install(oldPKI)
	a, aLine, err := auth.Mint("alice", auth.Read, []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	b, bLine, err := auth.Mint("bob", auth.Read, []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	put("tokens", []byte(aLine+"\n"))

	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--db", file("x.db"), "--metrics-listen", "127.0.0.1:0",
		"--auth-tokens", file("tokens"), "--tls-cert", file("cert.pem"), "--tls-key", file("key.pem"), "--tls-client-ca", file("ca.pem"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := make(logLines, 100)
	go func() {
		defer close(logs)
		for sc := bufio.NewScanner(stderr); sc.Scan(); {
			logs <- sc.Text()
		}
	}()
	addr := servingRE.FindStringSubmatch(logs.waitFor(t, `msg="convstate serving"`))[1]
	metrics := metricsAddrRE.FindStringSubmatch(logs.waitFor(t, `msg="metrics serving"`))[1]

	as := func(token string, p testpki.PKI) clientFlags {
		return clientFlags{token: token, tlsCA: p.CA, tlsCert: p.ClientCert, tlsKey: p.ClientKey}
	}
	if err := decideVia(t, addr, as(a, oldPKI)); err != nil {
		t.Fatalf("alice before the reload: %v", err)
	}
	if err := decideVia(t, addr, as(b, oldPKI)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("bob before the reload: %v, want Unauthenticated", err)
	}

	// Alice watches window events until her token is revoked.
	alice := as(a, oldPKI)
	opts, err := alice.options()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	watch, err := c.WatchWindowEvents(ctx, &convstatev1.WatchWindowEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Header(); err != nil { // accepted by the server before the reload
		t.Fatal(err)
	}
	watchEnded := make(chan error, 1)
	go func() {
		for {
			if _, err := watch.Recv(); err != nil {
				watchEnded <- err
				return
			}
		}
	}()

	put("tokens", []byte("# alice left\n"+bLine+"\n"))
	install(newPKI)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, `msg="reloaded the token file"`, "tokens=1", "added=[bob]", "removed=[alice]")
	logs.waitFor(t, `msg="reloaded the TLS certificate"`, "mutual=true", "not_after=")

	if err := decideVia(t, addr, as(a, newPKI)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("alice after the reload: %v, want Unauthenticated", err)
	}
	if err := decideVia(t, addr, as(b, newPKI)); err != nil {
		t.Errorf("bob after the reload: %v", err)
	}
	if err := decideVia(t, addr, as(b, oldPKI)); err == nil {
		t.Errorf("a client trusting only the old CA, with the old client certificate, still connects")
	}
	select {
	case err := <-watchEnded:
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("alice's watch stream ended with %v, want Unauthenticated (revoked)", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("alice's watch stream still runs after her token was removed")
	}

	// A broken file (a token pasted instead of its hash) keeps bob's token.
	put("tokens", []byte("carol "+a+" read *\n"))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	line := logs.waitFor(t, `msg="reload failed: keeping the tokens loaded before"`)
	if strings.Contains(line, a) {
		t.Errorf("the log line echoes the token: %s", line)
	}
	logs.waitFor(t, `msg="reloaded the TLS certificate"`)
	if err := decideVia(t, addr, as(b, newPKI)); err != nil {
		t.Errorf("bob after a failed reload: %v", err)
	}

	resp, err := http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`convstate_reloads_total{result="ok"} 1`, `convstate_reloads_total{result="failed"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
