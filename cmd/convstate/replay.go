package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/convstate/convstate/client"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/replay"
	"github.com/convstate/convstate/server"
	"github.com/convstate/convstate/store"
)

const replaySynopsis = `Replays facts (JSON lines) through the real engine and store and writes one JSON
result per fact to stdout, in input order. FILE is the input ("-" or none: stdin).
Without --server it runs in-process on a temporary bbolt file (or --db); with
--server it replays against a running convstate. Exit status 1 if any fact failed.
The input and output formats are described in the README ("Replay").`

type replayConfig struct {
	rateCards        stringList
	margin           time.Duration
	db               string
	summary, explain bool
	webhooks         bool
	serviceAllowance int
	input            string
	clientFlags
}

func parseReplay(e env, args []string) (*replayConfig, error) {
	c := &replayConfig{margin: ledger.DefaultMargin, serviceAllowance: pricing.DefaultServiceAllowance}
	fs := newFlagSet("replay [flags] [FILE]", replaySynopsis, e)
	fs.Var(&c.rateCards, "rate-card", "rate card CSV file; repeatable; when given, only these cards are used")
	fs.Var(nonNegDuration{&c.margin}, "margin", "safety margin of checks")
	fs.StringVar(&c.db, "db", "", "bbolt file to replay into (default: a temporary file, removed afterwards)")
	c.clientFlags.register(fs) // --server (replay against a running convstate instead of in-process), --token, TLS
	fs.BoolVar(&c.summary, "summary", false, "end with a line of monthly usage per business: volume and cost by market × category × pricing type")
	fs.BoolVar(&c.explain, "explain", false, "add each check's reason and each charge's tier and explanation")
	fs.BoolVar(&c.webhooks, "webhooks", false, "FILE holds WhatsApp Cloud API webhook bodies, one JSON body per line, recorded with IngestWebhook: one result per fact in them")
	fs.IntVar(&c.serviceAllowance, "service-free-allowance", c.serviceAllowance, "free service messages a month per business number under the 2026-10-01 rules")
	// The file argument may come before or after the flags.
	var rest []string
	if len(args) > 0 && (args[0] == "-" || len(args[0]) > 0 && args[0][0] != '-') {
		rest, args = args[:1], args[1:]
	}
	if err := fs.FlagSet.Parse(args); err != nil {
		return nil, err
	}
	rest = append(rest, fs.Args()...)
	if len(fs.envErrs) > 0 {
		return nil, fs.envErrs[0]
	}
	switch len(rest) {
	case 0:
		c.input = "-"
	case 1:
		c.input = rest[0]
	default:
		return nil, fmt.Errorf("replay takes one input file, got %q", rest)
	}
	if c.server != "" {
		switch {
		case c.db != "":
			return nil, errors.New("--db and --server exclude each other: a live server uses its own database")
		case len(c.rateCards) > 0:
			return nil, errors.New("--rate-card cannot change a live server's cards: start `convstate serve --rate-card FILE` instead")
		}
	}
	return c, nil
}

func runReplay(ctx context.Context, e env, args []string) error {
	c, err := parseReplay(e, args)
	if err != nil {
		return err
	}
	in := e.stdin
	if c.input != "-" {
		f, err := os.Open(c.input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var cl *client.Client
	if c.server != "" {
		opts, err := c.clientFlags.options()
		if err != nil {
			return err
		}
		if cl, err = client.New(c.server, append(opts, client.WithTimeout(time.Minute))...); err != nil {
			return err
		}
	} else {
		var stop func()
		cl, stop, err = inProcess(c, e.stderr)
		if err != nil {
			return err
		}
		defer stop()
	}
	defer cl.Close()

	r := &replay.Runner{
		Window: cl, Billing: cl, Admin: cl,
		Margin:   durationpb.New(c.margin),
		Out:      e.stdout,
		Progress: e.stderr,
		Summary:  c.summary,
		Explain:  c.explain,
		Webhooks: c.webhooks,
	}
	stats, err := r.Run(ctx, in)
	if err != nil {
		return err
	}
	if stats.Errors > 0 {
		fmt.Fprintf(e.stderr, "replay: %d of %d facts failed\n", stats.Errors, stats.Facts)
		return exitCode(1)
	}
	return nil
}

// inProcess starts the production server (server.New) on a bbolt file and returns
// a client connected to it in memory.
func inProcess(c *replayConfig, stderr io.Writer) (*client.Client, func(), error) {
	warn := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	engine, err := loadEngine(c.rateCards, true, c.serviceAllowance, func(msg string, args ...any) {
		if msg == "rate card warning" {
			warn.Warn(msg, args...)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	path, tmpDir := c.db, ""
	if path == "" {
		if tmpDir, err = os.MkdirTemp("", "convstate-replay-"); err != nil {
			return nil, nil, err
		}
		path = filepath.Join(tmpDir, "replay.db")
	}
	cleanup := func() {
		if tmpDir != "" {
			os.RemoveAll(tmpDir)
		}
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	srv, _, err := server.New(server.Deps{
		Store: st, Logger: warn, Metrics: prometheus.NewRegistry(), Margin: c.margin, MaxSkew: ledger.DefaultMaxSkew, Engine: engine,
	})
	if err != nil {
		st.Close()
		cleanup()
		return nil, nil, err
	}
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	cl, err := client.New("passthrough:///replay", client.WithTimeout(0), client.WithDialOptions(
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	))
	if err != nil {
		srv.Stop()
		st.Close()
		cleanup()
		return nil, nil, err
	}
	return cl, func() {
		srv.GracefulStop()
		st.Close()
		cleanup()
	}, nil
}
