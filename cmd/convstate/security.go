package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"github.com/convstate/convstate/auth"
)

// security is the loaded authentication and TLS configuration of serve.
type security struct {
	tokens *auth.Tokens
	tls    *tls.Config
	mutual bool
}

func loadSecurity(c *serveConfig) (*security, error) {
	s := &security{}
	if c.authTokens != "" {
		f, err := openOrFail("auth-tokens", c.authTokens)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if s.tokens, err = auth.Parse(f, c.authTokens); err != nil {
			return nil, fmt.Errorf("--auth-tokens: %w", err)
		}
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if c.clientCA != "" {
			pem, err := os.ReadFile(c.clientCA)
			if err != nil {
				return nil, fmt.Errorf("--tls-client-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-client-ca: no PEM certificate in %s", c.clientCA)
			}
			s.tls.ClientCAs, s.tls.ClientAuth, s.mutual = pool, tls.RequireAndVerifyClientCert, true
		}
	}
	return s, nil
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
