package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/server"
	"github.com/convstate/convstate/store"
)

// serveConfig is the configuration of `convstate serve`.
type serveConfig struct {
	listen, metricsListen, db string
	rateCards                 stringList
	margin, maxSkew           time.Duration
	shutdownGrace             time.Duration
	lockTimeout               time.Duration
	serviceAllowance          int
	maxBatch                  int
	logLevel, logFormat       string
	authTokens                string
	rateLimit                 float64
	rateBurst                 int
	maxRequestBytes           int
	tlsCert, tlsKey, clientCA string
	insecure                  bool
	retention, gcInterval     time.Duration
	commitInterval            time.Duration
	pairCache                 int
}

const (
	defaultListen        = "127.0.0.1:50051"
	defaultMetricsListen = "127.0.0.1:9464"
	defaultDB            = "convstate.db"
)

func parseServe(e env, args []string) (*serveConfig, error) {
	c := &serveConfig{
		margin: ledger.DefaultMargin, maxSkew: ledger.DefaultMaxSkew, shutdownGrace: 10 * time.Second,
		lockTimeout: time.Second, serviceAllowance: pricing.DefaultServiceAllowance, maxBatch: server.MaxBatchLimit,
		rateBurst: 4000, maxRequestBytes: server.DefaultMaxRequestBytes,
		retention: ledger.DefaultRetention, gcInterval: 10 * time.Minute,
		commitInterval: time.Second,
	}
	fs := newFlagSet("serve [flags]", "Runs the convstate gRPC service on an embedded bbolt database.", e)
	fs.StringVar(&c.listen, "listen", defaultListen, "gRPC listen address")
	fs.env("listen", "CONVSTATE_LISTEN")
	fs.StringVar(&c.db, "db", defaultDB, "bbolt database file (created if missing)")
	fs.env("db", "CONVSTATE_DB")
	fs.StringVar(&c.metricsListen, "metrics-listen", defaultMetricsListen, "Prometheus /metrics listen address (\"off\" disables it)")
	fs.env("metrics-listen", "CONVSTATE_METRICS_LISTEN")
	fs.Var(&c.rateCards, "rate-card", "rate card CSV file (effective_from,currency,market,category,tier_from,rate);\nrepeatable; its cards replace embedded cards of the same date and currency")
	fs.env("rate-card", "CONVSTATE_RATE_CARDS")
	fs.Var(nonNegDuration{&c.margin}, "margin", "safety margin: decisions close the window this long before Meta's expiry")
	fs.env("margin", "CONVSTATE_MARGIN")
	fs.Var(nonNegDuration{&c.maxSkew}, "max-skew", "how far in the future a fact's timestamp may be")
	fs.env("max-skew", "CONVSTATE_MAX_SKEW")
	fs.IntVar(&c.serviceAllowance, "service-free-allowance", c.serviceAllowance, "free service messages a month per business number under the 2026-10-01 rules\n(reported, not confirmed by Meta)")
	fs.env("service-free-allowance", "CONVSTATE_SERVICE_FREE_ALLOWANCE")
	fs.Var(positiveInt(&c.maxBatch), "max-batch", fmt.Sprintf("most items per batch call (at most %d)", server.MaxBatchLimit))
	fs.env("max-batch", "CONVSTATE_MAX_BATCH")
	fs.Var(nonNegDuration{&c.shutdownGrace}, "shutdown-grace", "how long in-flight calls may finish on shutdown")
	fs.env("shutdown-grace", "CONVSTATE_SHUTDOWN_GRACE")
	fs.Var(nonNegDuration{&c.lockTimeout}, "lock-timeout", "how long to wait for the database lock held by another process")
	fs.env("lock-timeout", "CONVSTATE_LOCK_TIMEOUT")
	fs.Var(positiveDuration{&c.commitInterval}, "commit-interval", "how often the database file is committed; writes are durable before, in its write-ahead\nlog (<db>-wal), which Open replays after a crash")
	fs.env("commit-interval", "CONVSTATE_COMMIT_INTERVAL")
	fs.Var(nonNegInt(&c.pairCache), "pair-cache", "decoded pair records kept in memory for decisions (0: none): measured both faster and\nslower end to end (docs/BENCHMARKS.md)")
	fs.env("pair-cache", "CONVSTATE_PAIR_CACHE")
	fs.StringVar(&c.authTokens, "auth-tokens", "", "token file: every call but health and reflection needs a bearer token,\nlimited to its scopes and businesses (format: README \"Security\")")
	fs.env("auth-tokens", "CONVSTATE_AUTH_TOKENS")
	fs.Float64Var(&c.rateLimit, "rate-limit", 2000, "requests per second per token (0: unlimited); exceeding it gives ResourceExhausted")
	fs.env("rate-limit", "CONVSTATE_RATE_LIMIT")
	fs.Var(positiveInt(&c.rateBurst), "rate-burst", "requests a token may burst above --rate-limit")
	fs.env("rate-burst", "CONVSTATE_RATE_BURST")
	fs.Var(positiveInt(&c.maxRequestBytes), "max-request-bytes", "largest request message accepted; larger ones get ResourceExhausted")
	fs.env("max-request-bytes", "CONVSTATE_MAX_REQUEST_BYTES")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM; with --tls-key)")
	fs.env("tls-cert", "CONVSTATE_TLS_CERT")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fs.env("tls-key", "CONVSTATE_TLS_KEY")
	fs.StringVar(&c.clientCA, "tls-client-ca", "", "require client certificates signed by this CA (PEM): mutual TLS")
	fs.env("tls-client-ca", "CONVSTATE_TLS_CLIENT_CA")
	fs.BoolVar(&c.insecure, "insecure", false, "allow listening on a non-loopback address without --auth-tokens or TLS")
	fs.env("insecure", "CONVSTATE_INSECURE")
	fs.Var(nonNegDuration{&c.retention}, "retention", "how long facts are kept: the duplicate horizon and the audit window of GetCharge\n(monthly usage is kept regardless); at least 168h")
	fs.env("retention", "CONVSTATE_RETENTION")
	fs.Var(nonNegDuration{&c.gcInterval}, "gc-interval", "how often garbage collection runs (0: never in the background)")
	fs.env("gc-interval", "CONVSTATE_GC_INTERVAL")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error (debug logs every call)")
	fs.env("log-level", "CONVSTATE_LOG_LEVEL")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.env("log-format", "CONVSTATE_LOG_FORMAT")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if c.maxBatch > server.MaxBatchLimit {
		return nil, fmt.Errorf("--max-batch %d exceeds the API limit %d", c.maxBatch, server.MaxBatchLimit)
	}
	if c.serviceAllowance < 0 {
		return nil, fmt.Errorf("--service-free-allowance must not be negative")
	}
	if c.retention < 7*24*time.Hour {
		return nil, fmt.Errorf("--retention %s is shorter than Meta's 7 days of webhook retries: duplicates would be recorded twice", c.retention)
	}
	if c.rateLimit < 0 {
		return nil, fmt.Errorf("--rate-limit must not be negative")
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.clientCA != "" && c.tlsCert == "" {
		return nil, fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first")
	}
	if !c.insecure && c.authTokens == "" && c.tlsCert == "" && !loopback(c.listen) {
		return nil, fmt.Errorf("refusing to listen on %s without --auth-tokens or TLS: anyone who can reach it could read and "+
			"write every business's state; use a loopback address, add --auth-tokens and/or --tls-cert/--tls-key, or pass --insecure", c.listen)
	}
	return c, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// loadEngine builds the pricing engine: the embedded cards (unless onlyFiles) with
// the files' cards added (a file's card replaces one of the same date and currency).
func loadEngine(files []string, onlyFiles bool, allowance int, log func(msg string, args ...any)) (*pricing.Engine, error) {
	cs := pricing.NewCardSet()
	if !onlyFiles || len(files) == 0 {
		cs.Add(pricing.Embedded()...)
	}
	for _, path := range files {
		f, err := openOrFail("rate-card", path)
		if err != nil {
			return nil, err
		}
		cards, warns, err := pricing.ParseCards(f, filepath.Base(path))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--rate-card: %w", err)
		}
		for _, w := range warns {
			log("rate card warning", "warning", w.String())
		}
		cs.Add(cards...)
		log("rate cards loaded", "file", path, "cards", len(cards))
	}
	return &pricing.Engine{Cards: cs, ServiceAllowance: int64(allowance)}, nil
}

func runServe(ctx context.Context, e env, args []string) error {
	c, err := parseServe(e, args)
	if err != nil {
		return err
	}
	log, err := newLogger(e.stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	engine, err := loadEngine(c.rateCards, false, c.serviceAllowance, log.Info)
	if err != nil {
		return err
	}
	sec, err := loadSecurity(c)
	if err != nil {
		return err
	}
	var hup chan os.Signal // registered before the "serving" line: a SIGHUP after it is never fatal
	if sec.reloadable() {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	opening := time.Now()
	st, err := store.Open(c.db, store.Options{LockTimeout: c.lockTimeout, CommitInterval: c.commitInterval, PairCache: c.pairCache})
	if err != nil {
		return err
	}
	defer st.Close()
	if n := st.Stats().FactGenerationsCounted; n > 0 { // a file of an older build, once
		log.Info("counted the facts of the file's generations by time", "generations", n,
			"took", time.Since(opening).Round(time.Millisecond).String())
	}

	if n := st.Stats().Replayed; n > 0 {
		log.Info("replayed the write-ahead log", "batches", n)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerStoreMetrics(reg, st)
	srv, hs, err := server.New(server.Deps{
		Store: st, Logger: log, Metrics: reg, Margin: c.margin, MaxSkew: c.maxSkew,
		Engine: engine, MaxBatch: c.maxBatch,
		Tokens: sec.tokens, RateLimit: c.rateLimit, RateBurst: c.rateBurst, TLS: sec.tls, MaxRequestBytes: c.maxRequestBytes,
		Retention: c.retention, GCEvery: c.gcInterval, Context: ctx,
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	abs, _ := filepath.Abs(c.db)
	log.Info("convstate serving", "grpc", lis.Addr().String(), "db", abs, "margin", c.margin.String(),
		"rate_cards", len(engine.Cards.Cards()), "tls", sec.describeTLS(), "auth", sec.describeAuth())

	g, gctx := errgroup.WithContext(ctx)
	if hup != nil {
		// SIGHUP re-reads the token file and the certificates, so that a token can be
		// revoked, or a certificate rotated, without a restart. Without either, SIGHUP
		// keeps its default (the process ends).
		reloads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "convstate_reloads_total",
			Help: "reloads of the token file and TLS certificates on SIGHUP, by result (ok, failed)"}, []string{"result"})
		reg.MustRegister(reloads)
		g.Go(func() error {
			for {
				select {
				case <-gctx.Done():
					return nil
				case <-hup:
					result := "ok"
					if !sec.reload(c, log) {
						result = "failed"
					}
					reloads.WithLabelValues(result).Inc()
				}
			}
		})
	}
	g.Go(func() error { return srv.Serve(lis) })
	if c.metricsListen != "off" && c.metricsListen != "" {
		mlis, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			srv.Stop()
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		log.Info("metrics serving", "addr", "http://"+mlis.Addr().String()+"/metrics")
		g.Go(func() error { return serveMetrics(gctx, mlis, reg) })
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down", "grace", c.shutdownGrace.String())
		shutdown(srv, hs, c.shutdownGrace)
		return nil
	})
	err = g.Wait()
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

// shutdown reports NOT_SERVING, lets in-flight calls finish within grace, then
// cancels what is left.
func shutdown(srv *grpc.Server, hs *health.Server, grace time.Duration) {
	hs.Shutdown()
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		srv.Stop()
		<-done
	}
}

// serveMetrics serves /metrics from the private registry until ctx ends.
func serveMetrics(ctx context.Context, lis net.Listener, reg *prometheus.Registry) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// registerStoreMetrics exports the store's write counters: their ratio is the group commit's
// batch size, the flush counters show the file keeping up with the log, and the fact filter's
// show whether duplicate checks are spared their index searches.
func registerStoreMetrics(reg prometheus.Registerer, st *store.DB) {
	counter := func(name, help string, v func(store.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(st.Stats())) })
	}
	seconds := func(name, help string, v func(store.Stats) time.Duration) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return v(st.Stats()).Seconds() })
	}
	reg.MustRegister(
		counter("convstate_store_log_syncs_total", "fdatasyncs of the write-ahead log that made Updates durable",
			func(s store.Stats) uint64 { return s.Commits }),
		counter("convstate_store_updates_total", "Updates made durable",
			func(s store.Stats) uint64 { return s.Updates }),
		counter("convstate_store_flushes_total", "flushes of acknowledged writes into the database file",
			func(s store.Stats) uint64 { return s.Flushes }),
		seconds("convstate_store_flush_seconds_total", "time spent flushing acknowledged writes into the database file",
			func(s store.Stats) time.Duration { return s.FlushTime }),
		seconds("convstate_store_flush_wait_seconds_total", "time writes waited for a flush to end before the next could start "+
			"(growing: the file is not keeping up with the log)",
			func(s store.Stats) time.Duration { return s.FlushWait }),
		counter("convstate_store_fact_filter_builds_total", "Bloom filters of the facts index built (at start, and again "+
			"once garbage collection has left one fuller than it was sized for)",
			func(s store.Stats) uint64 { return s.FactFilterBuilds }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "convstate_store_fact_filter_keys",
			Help: "keys in the Bloom filter the duplicate checks use (0: none built yet, so every check searches the facts index)"},
			func() float64 { return float64(st.Stats().FactFilterKeys) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "convstate_store_fact_generations",
			Help: "generations of the facts index (a lookup of an older fact probes one Bloom filter per newer generation)"},
			func() float64 { return float64(st.Stats().FactGenerations) }),
	)
}
