package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// Runner replays input lines through convstate's gRPC API, in order.
type Runner struct {
	Window  convstatev1.WindowServiceClient
	Billing convstatev1.BillingServiceClient
	Admin   convstatev1.AdminServiceClient
	// Margin, when set, is the safety margin of every check.
	Margin *durationpb.Duration
	// Out receives one JSON result per input line that is not blank or a comment.
	Out io.Writer
	// Progress, when set, receives a progress line every ProgressEvery once the
	// replay has run longer than that, and a last line at the end.
	Progress      io.Writer
	ProgressEvery time.Duration
	// BatchSize is how many consecutive facts go in one RecordFacts call (default 1000).
	BatchSize int
	// Summary adds a last line with the monthly usage of every business charged.
	Summary bool
	// Explain adds the check's reason and each charge's tier and explanation.
	Explain bool
	// Now is the clock for progress (default time.Now).
	Now func() time.Time
	// Webhooks reads the input as WhatsApp webhook bodies, one per line, sent with
	// IngestWebhook (see webhooks.go), instead of facts.
	Webhooks bool
}

// Stats counts what a replay did.
type Stats struct {
	Lines  int // input lines read
	Facts  int // facts, checks and profiles replayed
	Errors int // of which failed
}

type pending struct {
	line int
	fact *convstatev1.Fact
}

type run struct {
	*Runner
	ctx     context.Context
	out     *bufio.Writer
	enc     *json.Encoder
	batch   []pending
	stats   Stats
	charged map[string]map[string]bool // business -> months with charges
	start   time.Time
	lastLog time.Time
}

// Run replays in and returns what it did. It stops early only when the server
// cannot be used (unreachable, unauthenticated, an internal error) or in fails.
func (r *Runner) Run(ctx context.Context, in io.Reader) (Stats, error) {
	if r.BatchSize <= 0 {
		r.BatchSize = 1000
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.ProgressEvery <= 0 {
		r.ProgressEvery = 3 * time.Second
	}
	out := bufio.NewWriterSize(r.Out, 64<<10)
	x := &run{Runner: r, ctx: ctx, out: out, enc: json.NewEncoder(out), charged: map[string]map[string]bool{}}
	x.enc.SetEscapeHTML(false)
	x.start, x.lastLog = r.Now(), r.Now()
	err := x.loop(in)
	if err == nil {
		err = x.flush()
	}
	if err == nil && r.Summary {
		err = x.summary()
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	x.progress(true)
	return x.stats, err
}

func (x *run) loop(in io.Reader) error {
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			x.stats.Lines++
			handle := x.handle
			if x.Webhooks {
				handle = x.webhook
			}
			if perr := handle(line); perr != nil {
				return perr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading input: %w", err)
		}
		if x.stats.Lines%64 == 0 {
			x.progress(false)
		}
	}
}

func (x *run) handle(line []byte) error {
	if Skip(line) {
		return nil
	}
	n := x.stats.Lines
	x.stats.Facts++
	p, err := Parse(line)
	if err != nil {
		if ferr := x.flush(); ferr != nil {
			return ferr
		}
		return x.fail(n, codes.InvalidArgument, err.Error())
	}
	switch p.Kind {
	case KindFact:
		x.batch = append(x.batch, pending{line: n, fact: p.Fact})
		if len(x.batch) >= x.BatchSize {
			return x.flush()
		}
		return nil
	case KindCheck:
		if err := x.flush(); err != nil {
			return err
		}
		return x.check(n, p.Check)
	default:
		if err := x.flush(); err != nil {
			return err
		}
		return x.business(n, p.Business)
	}
}

// fail writes an error result for a line.
func (x *run) fail(line int, code codes.Code, msg string) error {
	x.stats.Errors++
	return x.enc.Encode(errorOut{Line: line, Error: errorBody{Code: code.String(), Message: msg}})
}

// callFailed handles a failed call for one line: an error result when the failure
// is about the line, or an error that ends the replay when the server is unusable.
func (x *run) callFailed(line int, err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
		codes.OutOfRange, codes.PermissionDenied:
		return x.fail(line, st.Code(), st.Message())
	}
	return fmt.Errorf("line %d: %w", line, err)
}

// flush records the pending facts in one call and writes their results.
func (x *run) flush() error {
	if len(x.batch) == 0 {
		return nil
	}
	facts := make([]*convstatev1.Fact, len(x.batch))
	for i, p := range x.batch {
		facts[i] = p.fact
	}
	resp, err := x.Window.RecordFacts(x.ctx, &convstatev1.RecordFactsRequest{Facts: facts})
	if err != nil {
		return fmt.Errorf("lines %d-%d: %w", x.batch[0].line, x.batch[len(x.batch)-1].line, err)
	}
	if len(resp.GetResults()) != len(facts) {
		return fmt.Errorf("lines %d-%d: the server returned %d results for %d facts", x.batch[0].line, x.batch[len(x.batch)-1].line, len(resp.GetResults()), len(facts))
	}
	for i, r := range resp.GetResults() {
		if err := x.result(x.batch[i], r); err != nil {
			return err
		}
	}
	x.batch = x.batch[:0]
	x.progress(false)
	return nil
}

func (x *run) result(p pending, r *convstatev1.FactResult) error {
	switch v := r.GetResult().(type) {
	case *convstatev1.FactResult_Error:
		x.stats.Errors++
		return x.enc.Encode(errorOut{Line: p.line, Error: errorBody{Code: codes.Code(v.Error.GetCode()).String(), Message: v.Error.GetMessage()}})
	case *convstatev1.FactResult_UserMessage:
		return x.enc.Encode(userOut{head{p.line, v.UserMessage.GetDuplicate()}, timeString(v.UserMessage.GetWindowExpiresAt())})
	case *convstatev1.FactResult_UserCall:
		return x.enc.Encode(userOut{head{p.line, v.UserCall.GetDuplicate()}, timeString(v.UserCall.GetWindowExpiresAt())})
	case *convstatev1.FactResult_BusinessMessage:
		return x.enc.Encode(sendOut{head{p.line, v.BusinessMessage.GetDuplicate()}, warnings(v.BusinessMessage.GetWarnings())})
	case *convstatev1.FactResult_Status:
		c := v.Status.GetCharge()
		if c != nil && !v.Status.GetDuplicate() {
			x.noteCharge(p.fact.GetStatus().GetBusinessId(), c.GetMonth())
		}
		return x.enc.Encode(statusOut{head{p.line, v.Status.GetDuplicate()}, charge(c, x.Explain)})
	case *convstatev1.FactResult_TemplateCategoryChange:
		return x.enc.Encode(head{p.line, v.TemplateCategoryChange.GetDuplicate()})
	}
	return fmt.Errorf("line %d: the server returned an empty result", p.line)
}

func (x *run) noteCharge(business, month string) {
	if x.charged[business] == nil {
		x.charged[business] = map[string]bool{}
	}
	x.charged[business][month] = true
}

func (x *run) check(line int, req *convstatev1.DecideRequest) error {
	req.SafetyMargin = x.Margin
	req.Explain = x.Explain
	d, err := x.Window.Decide(x.ctx, req)
	if err != nil {
		return x.callFailed(line, err)
	}
	out := checkOut{
		head:             head{Line: line},
		FreeFormAllowed:  d.GetFreeFormAllowed(),
		TemplateRequired: d.GetTemplateRequired(),
		WindowExpiresAt:  timeString(d.GetWindowExpiresAt()),
		FEPExpiresAt:     timeString(d.GetFepExpiresAt()),
		Quote:            charge(d.GetQuote(), x.Explain),
		Warnings:         warnings(d.GetWarnings()),
	}
	if x.Explain {
		out.Reason = reasonNames[d.GetReason()]
	}
	return x.enc.Encode(out)
}

func (x *run) business(line int, p *convstatev1.BusinessProfile) error {
	if _, err := x.Admin.SetBusinessProfile(x.ctx, &convstatev1.SetBusinessProfileRequest{Profile: p}); err != nil {
		return x.callFailed(line, err)
	}
	return x.enc.Encode(head{Line: line})
}

// progress prints a progress line once the replay has run for ProgressEvery, then
// every ProgressEvery; final prints the last line if any progress was shown.
func (x *run) progress(final bool) {
	if x.Progress == nil {
		return
	}
	now := x.Now()
	if final {
		if now.Sub(x.start) < x.ProgressEvery {
			return
		}
	} else if now.Sub(x.lastLog) < x.ProgressEvery {
		return
	}
	x.lastLog = now
	elapsed := now.Sub(x.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(x.stats.Facts) / elapsed
	}
	word := "replaying"
	if final {
		word = "done"
	}
	fmt.Fprintf(x.Progress, "replay: %s: %d lines, %d facts, %d errors, %.0f facts/s\n", word, x.stats.Lines, x.stats.Facts, x.stats.Errors, rate)
}

// summaryOut is the --summary line.
type summaryOut struct {
	Summary []businessUsage `json:"summary"`
}

type businessUsage struct {
	Business    string            `json:"business"`
	Month       string            `json:"month"`
	TotalVolume int64             `json:"total_volume"`
	TotalCost   map[string]string `json:"total_cost"`
	Rows        []usageRow        `json:"rows"`
}

type usageRow struct {
	Market            string `json:"market"`
	Category          string `json:"category"`
	PricingType       string `json:"pricing_type"`
	Volume            int64  `json:"volume"`
	Conversations     int64  `json:"conversations,omitempty"`
	Cost              string `json:"cost"`
	Currency          string `json:"currency"`
	RateUnknownVolume int64  `json:"rate_unknown_volume,omitempty"`
}

func (x *run) summary() error {
	out := summaryOut{Summary: []businessUsage{}}
	businesses := make([]string, 0, len(x.charged))
	for b := range x.charged {
		businesses = append(businesses, b)
	}
	slices.Sort(businesses)
	for _, b := range businesses {
		months := make([]string, 0, len(x.charged[b]))
		for m := range x.charged[b] {
			months = append(months, m)
		}
		slices.Sort(months)
		for _, m := range months {
			u, err := x.Billing.GetUsage(x.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: b}, Month: m})
			if err != nil {
				return fmt.Errorf("summary of %s %s: %w", b, m, err)
			}
			bu := businessUsage{Business: b, Month: m, TotalVolume: u.GetTotalVolume(), TotalCost: u.GetTotalCost()}
			for _, r := range u.GetRows() {
				bu.Rows = append(bu.Rows, usageRow{
					Market: r.GetMarket(), Category: categoryNames[r.GetCategory()], PricingType: pricingTypeNames[r.GetPricingType()],
					Volume: r.GetVolume(), Conversations: r.GetConversations(), Cost: r.GetCost(), Currency: r.GetCurrency(),
					RateUnknownVolume: r.GetRateUnknownVolume(),
				})
			}
			out.Summary = append(out.Summary, bu)
		}
	}
	return x.enc.Encode(out)
}
