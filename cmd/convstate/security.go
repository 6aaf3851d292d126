package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/convstate/convstate/auth"
)

// security is the loaded authentication and TLS configuration of serve. reload
// (on SIGHUP) swaps in the token file and the certificates as they are on disk then.
type security struct {
	tokens *auth.Tokens
	// tls is what the server is built with; its GetConfigForClient hands each new
	// connection the configuration loaded last.
	tls     *tls.Config
	current atomic.Pointer[tls.Config]
	mutual  bool
}

func loadSecurity(c *serveConfig) (*security, error) {
	s := &security{}
	if c.authTokens != "" {
		var err error
		if s.tokens, err = loadTokens(c.authTokens); err != nil {
			return nil, err
		}
	}
	if c.tlsCert != "" {
		cfg, err := loadTLS(c)
		if err != nil {
			return nil, err
		}
		s.current.Store(cfg)
		s.mutual = cfg.ClientAuth == tls.RequireAndVerifyClientCert
		s.tls = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				return s.current.Load(), nil
			},
		}
	}
	return s, nil
}

func loadTokens(path string) (*auth.Tokens, error) {
	f, err := openOrFail("auth-tokens", path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := auth.Parse(f, path)
	if err != nil {
		return nil, fmt.Errorf("--auth-tokens: %w", err)
	}
	return t, nil
}

// loadTLS reads the server's certificate and key, and the client CA when mutual TLS
// is asked for, into a complete configuration.
func loadTLS(c *serveConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.clientCA != "" {
		pem, err := os.ReadFile(c.clientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca: no PEM certificate in %s", c.clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// reloadable reports whether there is anything for reload to re-read.
func (s *security) reloadable() bool { return s.tokens != nil || s.tls != nil }

// reload re-reads the token file and the TLS files serve was started with. Each
// part is all or nothing: one that fails to load keeps what was loaded before, so
// a half-edited file never locks every caller out. New calls (and new connections,
// for TLS) see the result; streams of a removed or changed token end.
func (s *security) reload(c *serveConfig, log *slog.Logger) (ok bool) {
	ok = true
	if s.tokens != nil {
		if next, err := loadTokens(c.authTokens); err != nil {
			ok = false
			log.Error("reload failed: keeping the tokens loaded before", "err", err)
		} else {
			ch := s.tokens.Replace(next)
			log.Info("reloaded the token file", "tokens", s.tokens.Len(),
				"added", ch.Added, "removed", ch.Removed, "changed", ch.Changed)
		}
	}
	if s.tls != nil {
		if cfg, err := loadTLS(c); err != nil {
			ok = false
			log.Error("reload failed: keeping the TLS certificates loaded before", "err", err)
		} else {
			s.current.Store(cfg)
			attrs := []any{"mutual", cfg.ClientAuth == tls.RequireAndVerifyClientCert}
			if leaf := cfg.Certificates[0].Leaf; leaf != nil {
				attrs = append(attrs, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
			}
			log.Info("reloaded the TLS certificate", attrs...)
		}
	}
	return ok
}

func (s *security) describeTLS() string {
	switch {
	case s.mutual:
		return "mutual"
	case s.tls != nil:
		return "on"
	}
	return "off"
}

func (s *security) describeAuth() string {
	if s.tokens == nil {
		return "off"
	}
	return fmt.Sprintf("%d tokens", s.tokens.Len())
}

// loopback reports whether a listen address only accepts local connections.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
