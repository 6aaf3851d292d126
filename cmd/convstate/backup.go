package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/convstate/convstate/client"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/store"
)

// clientFlags are the flags of commands that talk to a running server.
type clientFlags struct {
	server, token          string
	tlsCA, tlsCert, tlsKey string
	tlsServerName          string
}

func (c *clientFlags) register(fs *flagSet) {
	fs.StringVar(&c.server, "server", "", "address of the running convstate")
	fs.StringVar(&c.token, "token", "", "bearer token (see convstate token)")
	fs.env("token", "CONVSTATE_TOKEN")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "connect with TLS, trusting this CA (PEM)")
	fs.env("tls-ca", "CONVSTATE_TLS_CA")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate for mutual TLS (PEM; with --tls-key)")
	fs.env("tls-cert", "CONVSTATE_TLS_CLIENT_CERT")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fs.env("tls-key", "CONVSTATE_TLS_CLIENT_KEY")
	fs.StringVar(&c.tlsServerName, "tls-server-name", "", "name to verify in the server's certificate (default: the --server host)")
}

// options turns the flags into client options.
func (c *clientFlags) options() ([]client.Option, error) {
	var opts []client.Option
	if c.tlsCA != "" || c.tlsCert != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.tlsServerName}
		if c.tlsCA != "" {
			pem, err := os.ReadFile(c.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("--tls-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-ca: no PEM certificate in %s", c.tlsCA)
			}
		}
		if (c.tlsCert == "") != (c.tlsKey == "") {
			return nil, errors.New("--tls-cert and --tls-key go together")
		}
		if c.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
			if err != nil {
				return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, client.WithTLS(cfg))
	}
	if c.token != "" {
		opts = append(opts, client.WithToken(c.token))
		if c.tlsCA == "" && c.tlsCert == "" {
			// A token over plaintext is only sane on loopback; serve refuses
			// non-loopback plaintext without --insecure anyway.
			opts = append(opts, client.WithInsecureToken())
		}
	}
	return opts, nil
}

func runBackup(ctx context.Context, e env, args []string) error {
	var cf clientFlags
	fs := newFlagSet("backup --server ADDR [flags] FILE",
		"Writes a consistent online snapshot of a running server's database to FILE (written\nto FILE.partial, checked, then renamed). Restore: stop the server and start it with\n--db FILE (or copy FILE over its database file). Needs an admin token for all businesses.", e)
	cf.register(fs)
	var rest []string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		rest, args = args[:1], args[1:]
	}
	if err := fs.FlagSet.Parse(args); err != nil {
		return err
	}
	if len(fs.envErrs) > 0 {
		return fs.envErrs[0]
	}
	rest = append(rest, fs.Args()...)
	if len(rest) != 1 {
		return errors.New("backup takes one argument: the file to write")
	}
	if cf.server == "" {
		return errors.New("--server is required")
	}
	opts, err := cf.options()
	if err != nil {
		return err
	}
	c, err := client.New(cf.server, append(opts, client.WithTimeout(0))...)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := backupTo(ctx, c, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "backup: wrote %d bytes to %s (consistency check passed)\n", n, rest[0])
	return nil
}

// backupTo streams a snapshot into path, checks it and renames it into place.
func backupTo(ctx context.Context, c *client.Client, path string) (int64, error) {
	partial := path + ".partial"
	f, err := os.OpenFile(partial, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(partial) // no-op after the rename
	stream, err := c.AdminServiceClient.Backup(ctx, &convstatev1.BackupRequest{})
	if err != nil {
		f.Close()
		return 0, err
	}
	var written, total int64 = 0, -1
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return 0, err
		}
		if m.GetTotalBytes() > 0 {
			total = m.GetTotalBytes()
		}
		k, err := f.Write(m.GetChunk())
		written += int64(k)
		if err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if total != written {
		return 0, fmt.Errorf("backup incomplete: received %d bytes, the server reported %d", written, total)
	}
	db, err := store.Open(partial, store.Options{})
	if err != nil {
		return 0, fmt.Errorf("the snapshot does not open: %w", err)
	}
	cerr := db.Check()
	db.Close()
	if cerr != nil {
		return 0, fmt.Errorf("the snapshot fails the consistency check: %w", cerr)
	}
	if err := os.Rename(partial, path); err != nil {
		return 0, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // make the rename durable
		d.Close()
	}
	return written, nil
}
