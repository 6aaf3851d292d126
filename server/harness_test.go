package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/convstate/convstate/auth"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/server"
	"github.com/convstate/convstate/store"
)

// t0 is the harness's start time: well inside the 2025 per-message rules.
var t0 = time.Date(2025, 9, 10, 12, 0, 0, 0, time.UTC)

// clock is an injected, settable clock; Until's channels fire when Set reaches them.
type clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *clock) Until(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{t, ch})
	return ch
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
}

// harness is a production server (server.New) on a real bbolt file, over bufconn.
type harness struct {
	t      *testing.T
	clock  *clock
	reg    *prometheus.Registry
	db     *store.DB
	win    convstatev1.WindowServiceClient
	bill   convstatev1.BillingServiceClient
	admin  convstatev1.AdminServiceClient
	conn   *grpc.ClientConn
	ctx    context.Context
	deps   server.Deps
	cancel context.CancelFunc
	path   string        // the bbolt file
	so     store.Options // what it is opened with
	stop   func()        // stops the server and closes the file
}

type option func(*server.Deps)

func withMargin(d time.Duration) option { return func(s *server.Deps) { s.Margin = d } }
func withCards(csv string) option {
	return func(s *server.Deps) {
		cards, _, err := pricing.ParseCards(stringsReader(csv), "test.csv")
		if err != nil {
			panic(err)
		}
		cs := pricing.NewCardSet()
		cs.Add(cards...)
		s.Engine = &pricing.Engine{Cards: cs, ServiceAllowance: pricing.DefaultServiceAllowance}
	}
}
func withMaxBatch(n int) option { return func(s *server.Deps) { s.MaxBatch = n } }

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	return newHarnessOn(t, store.Options{}, opts...)
}

// newHarnessOn is newHarness on a store opened with so.
func newHarnessOn(t *testing.T, so store.Options, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{now: t0}, reg: prometheus.NewRegistry(),
		path: filepath.Join(t.TempDir(), "convstate.db"), so: so}
	h.deps = server.Deps{
		Logger:  testLogger(),
		Metrics: h.reg,
		Now:     h.clock.Now,
		Until:   h.clock.Until,
		Margin:  ledger.DefaultMargin,
		MaxSkew: ledger.DefaultMaxSkew,
	}
	for _, o := range opts {
		o(&h.deps)
	}
	h.start()
	t.Cleanup(func() { h.stop() })
	h.ctx = t.Context()
	return h
}

// start opens the bbolt file and serves it.
func (h *harness) start() {
	t := h.t
	t.Helper()
	db, err := store.Open(h.path, h.so)
	if err != nil {
		t.Fatal(err)
	}
	h.db, h.deps.Store = db, db
	srv, _, err := server.New(h.deps)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h.stop = func() {
		conn.Close()
		srv.Stop()
		if err := db.Check(); err != nil {
			t.Errorf("store consistency: %v", err)
		}
		db.Close()
	}
	h.conn = conn
	h.win = convstatev1.NewWindowServiceClient(conn)
	h.bill = convstatev1.NewBillingServiceClient(conn)
	h.admin = convstatev1.NewAdminServiceClient(conn)
}

// restart stops the server, closes the file and serves it again: what follows reads
// the state back from the file, as a process restarted on it would.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.reg = prometheus.NewRegistry() // a new process registers its metrics afresh
	h.deps.Metrics = h.reg
	h.start()
}

func at(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(t0.Add(d)) }
func dur(d time.Duration) *durationpb.Duration  { return durationpb.New(d) }

const (
	biz    = "106540352242922"
	brUser = "5511987654321" // Brazil
	usUser = "14155550123"   // North America (US)
)

// Fact builders.
func userMsg(id, user string, d time.Duration) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
		BusinessId: biz, UserId: user, MessageId: id, Timestamp: at(d)}}}
}

func entryMsg(id, user string, d time.Duration) *convstatev1.Fact {
	f := userMsg(id, user, d)
	f.GetUserMessage().EntryPoint = convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD
	return f
}

func userCall(id, user string, d time.Duration) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{
		BusinessId: biz, UserId: user, CallId: id, Timestamp: at(d)}}}
}

func send(id, user string, d time.Duration, tmpl convstatev1.TemplateCategory) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
		BusinessId: biz, UserId: user, MessageId: id, Timestamp: at(d), Template: tmpl}}}
}

func statusFact(id string, st convstatev1.MessageStatus, d time.Duration, code int32) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
		BusinessId: biz, MessageId: id, Status: st, Timestamp: at(d), ErrorCode: code}}}
}

// recipients names a status's recipient: user (recipient_id) and the BSUID beside a
// phone user (recipient_user_id, "" for none).
func recipients(f *convstatev1.Fact, user, bsuid string) *convstatev1.Fact {
	f.GetStatus().RecipientId, f.GetStatus().RecipientUserId = user, bsuid
	return f
}

const (
	freeForm  = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UNSPECIFIED
	marketing = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING
	utility   = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY
	delivered = convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED
	read      = convstatev1.MessageStatus_MESSAGE_STATUS_READ
	failed    = convstatev1.MessageStatus_MESSAGE_STATUS_FAILED
	sent      = convstatev1.MessageStatus_MESSAGE_STATUS_SENT
)

// record records facts one by one through the single-fact RPCs, failing the test
// on any error, and returns the results.
func (h *harness) record(facts ...*convstatev1.Fact) []*convstatev1.FactResult {
	h.t.Helper()
	var out []*convstatev1.FactResult
	for _, f := range facts {
		r, err := h.recordOne(f)
		if err != nil {
			h.t.Fatalf("record %v: %v", f, err)
		}
		out = append(out, r)
	}
	return out
}

// recordOne records one fact through its typed RPC.
func (h *harness) recordOne(f *convstatev1.Fact) (*convstatev1.FactResult, error) {
	switch k := f.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		r, err := h.win.RecordUserMessage(h.ctx, &convstatev1.RecordUserMessageRequest{Message: k.UserMessage})
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_UserMessage{UserMessage: r}}, err
	case *convstatev1.Fact_UserCall:
		r, err := h.win.RecordUserCall(h.ctx, &convstatev1.RecordUserCallRequest{Call: k.UserCall})
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_UserCall{UserCall: r}}, err
	case *convstatev1.Fact_BusinessMessage:
		r, err := h.win.RecordBusinessMessage(h.ctx, &convstatev1.RecordBusinessMessageRequest{Message: k.BusinessMessage})
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_BusinessMessage{BusinessMessage: r}}, err
	case *convstatev1.Fact_Status:
		r, err := h.win.RecordStatus(h.ctx, &convstatev1.RecordStatusRequest{Status: k.Status})
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_Status{Status: r}}, err
	}
	// Kinds without a typed RPC go through the batch call.
	r, err := h.win.RecordFacts(h.ctx, &convstatev1.RecordFactsRequest{Facts: []*convstatev1.Fact{f}})
	if err != nil {
		return nil, err
	}
	if e := r.GetResults()[0].GetError(); e != nil {
		return nil, status.Error(codes.Code(e.GetCode()), e.GetMessage())
	}
	return r.GetResults()[0], nil
}

// decide asks for a decision at t0+d.
func (h *harness) decide(user string, d time.Duration, tmpl convstatev1.TemplateCategory) *convstatev1.DecideResponse {
	h.t.Helper()
	r, err := h.win.Decide(h.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: user, Time: at(d), Template: tmpl})
	if err != nil {
		h.t.Fatalf("decide: %v", err)
	}
	return r
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// counterValue sums a counter family's samples in the registry.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func withTokens(tokens *auth.Tokens) option { return func(s *server.Deps) { s.Tokens = tokens } }
func withRateLimit(limit float64, burst int) option {
	return func(s *server.Deps) { s.RateLimit, s.RateBurst = limit, burst }
}
func withMaxRequestBytes(n int) option { return func(s *server.Deps) { s.MaxRequestBytes = n } }
func withLogger(l *slog.Logger) option { return func(s *server.Deps) { s.Logger = l } }

// as returns a context whose calls carry a bearer token.
func (h *harness) as(token string) context.Context {
	return metadata.AppendToOutgoingContext(h.ctx, "authorization", "Bearer "+token)
}

// testLogger discards logs unless CONVSTATE_TEST_LOGS is set.
func testLogger() *slog.Logger {
	if os.Getenv("CONVSTATE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// usageRows is a month's usage of the business, one row per market, category and type.
func usageRows(hs *harness, month string) string {
	u, err := hs.bill.GetUsage(hs.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: month})
	if err != nil {
		hs.t.Fatal(err)
	}
	var rows []string
	for _, r := range u.GetRows() {
		if r.GetVolume() != 0 {
			rows = append(rows, fmt.Sprintf("%s/%s/%s:%d", r.GetMarket(), r.GetCategory(), r.GetPricingType(), r.GetVolume()))
		}
	}
	slices.Sort(rows)
	return fmt.Sprintf("%v %v", u.GetTotalCost(), rows)
}
