package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/convstate/convstate/auth"
	"github.com/convstate/convstate/client"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/internal/testpki"
)

func TestTokenCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), []string{"token", "--name", "inbox", "--scopes", "read,write", "--businesses", "106540352242922"},
		noEnv, strings.NewReader(""), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var token, line string
	for _, l := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(l, auth.TokenPrefix):
			token = l
		case strings.HasPrefix(l, "inbox"):
			line = l
		}
	}
	tokens, err := auth.Parse(strings.NewReader(line), "file")
	if err != nil {
		t.Fatalf("the printed line does not parse: %v\n%s", err, out.String())
	}
	p, ok := tokens.Lookup(token)
	if !ok || p.Name != "inbox" || !p.May(auth.Write) || p.May(auth.Admin) || !p.Sees("106540352242922") || p.Sees("1") {
		t.Errorf("minted token grants %+v", p)
	}
	if strings.Contains(line, token) {
		t.Errorf("the file line contains the token itself")
	}
	for _, bad := range [][]string{{"--scopes", "read"}, {"--name", "x", "--scopes", "root", "--businesses", "*"}, {"--name", "x"}} {
		if err := run(t.Context(), append([]string{"token"}, bad...), noEnv, strings.NewReader(""), io.Discard, io.Discard); err == nil {
			t.Errorf("token %v: no error", bad)
		}
	}
}

func TestRefusesNonLoopbackWithoutProtection(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	err := run(t.Context(), []string{"serve", "--listen", "0.0.0.0:0", "--db", db, "--metrics-listen", "off"},
		noEnv, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to listen on 0.0.0.0:0 without --auth-tokens or TLS") {
		t.Fatalf("got %v", err)
	}
	s := startServe(t, noEnv, "--listen", "0.0.0.0:0", "--db", db, "--metrics-listen", "off", "--insecure")
	if !strings.Contains(s.grpc, ":") {
		t.Errorf("--insecure did not start: %+v", s)
	}
}

func decideVia(t *testing.T, addr string, cf clientFlags) error {
	t.Helper()
	cf.server = addr
	opts, err := cf.options()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(addr, append(opts, client.WithTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Decide(t.Context(), &convstatev1.DecideRequest{BusinessId: "106540352242922", UserId: "5511987654321"})
	return err
}

func TestTLSAndMutualTLS(t *testing.T) {
	p := testpki.New(t)
	s := startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "tls.db"), "--metrics-listen", "off",
		"--tls-cert", p.ServerCert, "--tls-key", p.ServerKey)
	if err := decideVia(t, s.grpc, clientFlags{tlsCA: p.CA}); err != nil {
		t.Errorf("TLS client: %v", err)
	}
	if err := decideVia(t, s.grpc, clientFlags{}); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext client against TLS: %v, want Unavailable", err)
	}

	m := startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "mtls.db"), "--metrics-listen", "off",
		"--tls-cert", p.ServerCert, "--tls-key", p.ServerKey, "--tls-client-ca", p.CA)
	if err := decideVia(t, m.grpc, clientFlags{tlsCA: p.CA}); err == nil {
		t.Errorf("mutual TLS accepted a client without a certificate")
	}
	if err := decideVia(t, m.grpc, clientFlags{tlsCA: p.CA, tlsCert: p.ClientCert, tlsKey: p.ClientKey}); err != nil {
		t.Errorf("mutual TLS client: %v", err)
	}
	// Non-loopback with TLS needs no --insecure.
	startServe(t, noEnv, "--listen", "0.0.0.0:0", "--db", filepath.Join(t.TempDir(), "any.db"), "--metrics-listen", "off",
		"--tls-cert", p.ServerCert, "--tls-key", p.ServerKey)
}

func TestServeWithTokens(t *testing.T) {
	tok, line, err := auth.Mint("svc", auth.Read, []string{"106540352242922"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("# test tokens\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "auth.db"), "--metrics-listen", "off", "--auth-tokens", file)
	if err := decideVia(t, s.grpc, clientFlags{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if err := decideVia(t, s.grpc, clientFlags{token: tok}); err != nil {
		t.Errorf("with the token: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("svc "+tok+" read *\n"), 0o600)
	err = run(t.Context(), []string{"serve", "--db", filepath.Join(t.TempDir(), "b.db"), "--metrics-listen", "off", "--auth-tokens", bad},
		noEnv, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), tok) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("a file with a clear token: %v", err)
	}
}
