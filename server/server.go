// Package server assembles convstate's gRPC server: the services, the interceptor
// chain (metrics, logging, validation, recovery), health and reflection. main and
// the tests both build it with New, so tests exercise the production chain.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	pvmw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/ratelimit"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/convstate/convstate/auth"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
)

// Deps is what the server needs. Store, Logger and Metrics are required.
type Deps struct {
	Store   store.Store
	Logger  *slog.Logger
	Metrics prometheus.Registerer // a private registry, never the global one
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Until returns a channel that receives once the clock reaches a time (default:
	// time.After(time.Until(t))); tests inject it with Now. An absolute time leaves
	// no race between reading the clock and starting to wait.
	Until func(time.Time) <-chan time.Time
	// Margin is the safety margin of decisions (ledger.DefaultMargin is 60 s; zero
	// is no margin).
	Margin time.Duration
	// MaxSkew is how far in the future a fact may be (ledger.DefaultMaxSkew is 5
	// min; zero allows none).
	MaxSkew time.Duration
	// Engine rates messages (default: the embedded rate cards).
	Engine *pricing.Engine
	// MaxBatch is the most items a batch call may carry (default and cap 10,000).
	MaxBatch int
	// Tokens, when set, requires a bearer token on every call but health and
	// reflection, and limits each token to its scopes and businesses.
	Tokens *auth.Tokens
	// RateLimit is each token's requests per second (0: unlimited), with RateBurst.
	RateLimit float64
	RateBurst int
	// TLS, when set, serves TLS (mutual TLS if it requires client certificates).
	TLS *tls.Config
	// MaxRequestBytes bounds a request message (default 4 MiB).
	MaxRequestBytes int
	// Retention is how long facts are kept (default ledger.DefaultRetention).
	Retention time.Duration
	// GCEvery, with Context, runs garbage collection in the background at this
	// interval until Context ends (0: only on AdminService/CollectGarbage).
	GCEvery time.Duration
	Context context.Context
}

// DefaultMaxRequestBytes is the default bound of a request message.
const DefaultMaxRequestBytes = 4 << 20

// MaxBatchLimit is the API's hard limit on batch items.
const MaxBatchLimit = 10000

// New returns the fully assembled server and its health service (set it
// NOT_SERVING with Shutdown before stopping). It does not listen.
func New(d Deps) (*grpc.Server, *health.Server, error) {
	if d.Store == nil || d.Logger == nil || d.Metrics == nil {
		return nil, nil, errors.New("server: Store, Logger and Metrics are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Until == nil {
		d.Until = func(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }
	}
	if d.MaxBatch <= 0 || d.MaxBatch > MaxBatchLimit {
		d.MaxBatch = MaxBatchLimit
	}
	pv, err := protovalidate.New()
	if err != nil {
		return nil, nil, err
	}
	v := newFastValidator(pv)
	m := newMetrics()
	if err := m.register(d.Metrics); err != nil {
		return nil, nil, err
	}
	led := ledger.New(d.Store, ledger.Config{
		Margin:        d.Margin,
		MaxSkew:       d.MaxSkew,
		Now:           d.Now,
		Engine:        d.Engine,
		OnDiscrepancy: func(string) { m.discrepancies.Inc() },
		OnCharge: func(c *pricing.Charge) {
			m.charges.WithLabelValues(c.Model.String(), c.Type.String()).Inc()
		},
		OnPricingDiscrepancy: func(n int) { m.pricingDiscrepancies.Add(float64(n)) },
		OnRedecided:          func(cause string) { m.redecided.WithLabelValues(cause).Inc() },
		Retention:            d.Retention,
	})
	gc := &collector{led: led, log: d.Logger, deleted: m.gcDeleted, examined: m.gcExamined}
	if d.GCEvery > 0 && d.Context != nil {
		go gc.loop(d.Context, d.GCEvery, d.Until, d.Now)
	}

	// Health and reflection are not worth a log line each.
	quiet := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName && !strings.HasPrefix(c.Service, "grpc.reflection.")
	})
	// A log line per call costs more than a decision or a recorded fact (the
	// logging interceptor builds a dozen fields each time), so successful calls are
	// logged only at debug level, except admin calls (an audit trail); failures are
	// always logged (failedCalls) and every call is counted by the metrics.
	everyCall := d.Logger.Enabled(context.Background(), slog.LevelDebug)
	logged := selector.MatchFunc(func(ctx context.Context, c interceptors.CallMeta) bool {
		return quiet.Match(ctx, c) && (everyCall || adminCalls[c.FullMethod()])
	})
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(func(ctx context.Context) logging.Fields {
			if p := principal(ctx); p != nil {
				return logging.Fields{"caller", p.Name} // the token's name, never the token
			}
			return nil
		}),
	}
	rec := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		d.Logger.ErrorContext(ctx, "panic", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error") // never echo the panic to clients
	})
	// Batch requests are validated item by item in their handlers, so that one bad
	// item does not reject the others.
	pvOpts := pvmw.WithIgnoreMessages((&convstatev1.RecordFactsRequest{}).ProtoReflect().Type())

	if d.MaxRequestBytes <= 0 {
		d.MaxRequestBytes = DefaultMaxRequestBytes
	}
	// The chain, outermost first: metrics see the final code; authentication
	// (health and reflection stay open) runs before logging so log lines carry the
	// caller, and logs its own refusals; the rate limit counts per token; logging
	// comes before validation so invalid requests are logged; business scopes are
	// checked on validated requests; recovery is innermost.
	unary := []grpc.UnaryServerInterceptor{m.grpc.UnaryServerInterceptor()}
	stream := []grpc.StreamServerInterceptor{m.grpc.StreamServerInterceptor()}
	if d.Tokens != nil {
		a := &authenticator{tokens: d.Tokens, log: d.Logger}
		unary = append(unary, selector.UnaryServerInterceptor(grpcauth.UnaryServerInterceptor(a.authenticate), quiet))
		stream = append(stream, selector.StreamServerInterceptor(grpcauth.StreamServerInterceptor(a.authenticate), quiet))
		if d.RateLimit > 0 {
			l := &limiter{limit: rate.Limit(d.RateLimit), burst: max(d.RateBurst, 1), by: map[string]*rate.Limiter{}}
			unary = append(unary, ratelimit.UnaryServerInterceptor(l))
			stream = append(stream, ratelimit.StreamServerInterceptor(l))
		}
	}
	unary = append(unary,
		selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(slogAdapter(d.Logger), logOpts...), logged),
		failedCalls(d.Logger, everyCall),
		badRequestUnary, // protovalidate violations -> google.rpc.BadRequest
		pvmw.UnaryServerInterceptor(v, pvOpts),
	)
	stream = append(stream,
		selector.StreamServerInterceptor(logging.StreamServerInterceptor(slogAdapter(d.Logger), logOpts...), quiet),
		pvmw.StreamServerInterceptor(v),
	)
	if d.Tokens != nil {
		unary = append(unary, authorizeUnary)
		stream = append(stream, authorizeStream)
	}
	unary = append(unary, recovery.UnaryServerInterceptor(rec))
	stream = append(stream, recovery.StreamServerInterceptor(rec))

	opts := []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(d.MaxRequestBytes),
		// A pool of stream workers keeps grown goroutine stacks: a fresh goroutine
		// per call re-grows its stack in bbolt's recursive B-tree search and in
		// protovalidate every time (a tenth of a call's CPU). Calls beyond the pool get
		// fresh goroutines, so the pool is sized for the concurrency the benchmark
		// drives (64): 16 per CPU left a record's handler regrowing its stack, and 64
		// per CPU made every call slower (bench, interleaved runs).
		grpc.NumStreamWorkers(uint32(32 * runtime.GOMAXPROCS(0))),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
	if d.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(d.TLS)))
	}
	s := grpc.NewServer(opts...)
	errs := &errorMapper{log: d.Logger}
	convstatev1.RegisterWindowServiceServer(s, &windowService{led: led, v: v, errs: errs, maxBatch: d.MaxBatch, now: d.Now, until: d.Until})
	convstatev1.RegisterBillingServiceServer(s, &billingService{led: led, errs: errs})
	convstatev1.RegisterAdminServiceServer(s, &adminService{led: led, errs: errs, st: d.Store, gc: gc})

	hs := health.NewServer() // "" is SERVING
	for _, name := range []string{
		convstatev1.WindowService_ServiceDesc.ServiceName,
		convstatev1.BillingService_ServiceDesc.ServiceName,
		convstatev1.AdminService_ServiceDesc.ServiceName,
	} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s) // v1 and v1alpha: grpcurl list/describe work
	m.grpc.InitializeMetrics(s)
	return s, hs, nil
}

// adminCalls are always logged.
var adminCalls = map[string]bool{
	convstatev1.AdminService_SetBusinessProfile_FullMethodName: true,
	convstatev1.AdminService_Backup_FullMethodName:             true,
}

// failedCalls logs the failed calls the logging interceptor does not see.
func failedCalls(log *slog.Logger, everyCall bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil && !everyCall && !adminCalls[info.FullMethod] {
			args := []any{"grpc.method", info.FullMethod, "grpc.code", status.Code(err).String(), "grpc.error", err.Error()}
			if p := principal(ctx); p != nil {
				args = append(args, "caller", p.Name)
			}
			log.InfoContext(ctx, "failed call", args...)
		}
		return resp, err
	}
}

// slogAdapter adapts slog to the middleware's logger (simple enough to copy).
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// metrics are the server's Prometheus collectors.
type metrics struct {
	grpc                 *grpcprom.ServerMetrics
	discrepancies        prometheus.Counter
	pricingDiscrepancies prometheus.Counter
	charges              *prometheus.CounterVec
	redecided            *prometheus.CounterVec
	gcDeleted            *prometheus.CounterVec
	gcExamined           prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		discrepancies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convstate_window_discrepancies_total",
			Help: "Free-form messages Meta rejected with 131047 while convstate had the window open.",
		}),
		pricingDiscrepancies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convstate_pricing_discrepancies_total",
			Help: "Charges whose category, billable or free type Meta reported differently.",
		}),
		gcDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convstate_gc_deleted_total",
			Help: "Records garbage collection deleted, by kind (fact, pair, index_entry).",
		}, []string{"kind"}),
		gcExamined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convstate_gc_examined_total",
			Help: "Records garbage collection read to find what to delete: the facts of the fact generations that hold an old one, every pair, the expiry index entries.",
		}),
		charges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convstate_charges_total",
			Help: "Charges decided, by pricing model and pricing type.",
		}, []string{"model", "pricing_type"}),
		redecided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convstate_charges_redecided_total",
			Help: "Charges a fact recorded after them changed when they were decided again (webhooks out of order), by cause " +
				"(delivered_after_read, late_user_activity, late_force_close, identity_merged, late_delivery).",
		}, []string{"cause"}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.grpc, m.discrepancies, m.pricingDiscrepancies, m.charges, m.redecided, m.gcDeleted, m.gcExamined} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
