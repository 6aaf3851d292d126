package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc/codes"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
)

// windowService implements convstate.v1.WindowService over the ledger.
type windowService struct {
	convstatev1.UnimplementedWindowServiceServer
	led      *ledger.Ledger
	v        protovalidate.Validator
	errs     *errorMapper
	maxBatch int
	now      func() time.Time
	until    func(time.Time) <-chan time.Time
}

// recordOne records a single fact through the batch path, so singles and batches
// behave identically.
func (s *windowService) recordOne(ctx context.Context, f *convstatev1.Fact, prefix string) (*convstatev1.FactResult, error) {
	rs, err := s.led.Record(ctx, []*convstatev1.Fact{f})
	if err != nil {
		return nil, s.errs.status(ctx, err, prefix)
	}
	if e := rs[0].GetError(); e != nil {
		return nil, itemStatus(e, prefix)
	}
	return rs[0], nil
}

func (s *windowService) RecordUserMessage(ctx context.Context, req *convstatev1.RecordUserMessageRequest) (*convstatev1.RecordUserMessageResponse, error) {
	r, err := s.recordOne(ctx, &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: req.GetMessage()}}, "message.")
	if err != nil {
		return nil, err
	}
	return r.GetUserMessage(), nil
}

func (s *windowService) RecordUserCall(ctx context.Context, req *convstatev1.RecordUserCallRequest) (*convstatev1.RecordUserCallResponse, error) {
	r, err := s.recordOne(ctx, &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: req.GetCall()}}, "call.")
	if err != nil {
		return nil, err
	}
	return r.GetUserCall(), nil
}

func (s *windowService) RecordBusinessMessage(ctx context.Context, req *convstatev1.RecordBusinessMessageRequest) (*convstatev1.RecordBusinessMessageResponse, error) {
	r, err := s.recordOne(ctx, &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: req.GetMessage()}}, "message.")
	if err != nil {
		return nil, err
	}
	return r.GetBusinessMessage(), nil
}

func (s *windowService) RecordStatus(ctx context.Context, req *convstatev1.RecordStatusRequest) (*convstatev1.RecordStatusResponse, error) {
	r, err := s.recordOne(ctx, &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: req.GetStatus()}}, "status.")
	if err != nil {
		return nil, err
	}
	return r.GetStatus(), nil
}

// RecordFacts validates each fact on its own (the interceptor skips this request),
// records the valid ones in one durable transaction, and reports per item.
func (s *windowService) RecordFacts(ctx context.Context, req *convstatev1.RecordFactsRequest) (*convstatev1.RecordFactsResponse, error) {
	facts := req.GetFacts()
	if err := s.checkBatch(len(facts), "facts"); err != nil {
		return nil, err
	}
	results := make([]*convstatev1.FactResult, len(facts))
	if err := s.recordEach(ctx, facts, results); err != nil {
		return nil, err
	}
	resp := &convstatev1.RecordFactsResponse{Results: results}
	resp.Recorded, resp.Duplicates, resp.Failed = tally(results)
	return resp, nil
}

// recordEach validates each fact on its own (protovalidate; the interceptor skips
// batches) and records the valid ones in one durable transaction; results[i]
// answers facts[i]. A nil fact leaves results[i] as the caller set it.
func (s *windowService) recordEach(ctx context.Context, facts []*convstatev1.Fact, results []*convstatev1.FactResult) error {
	valid := make([]*convstatev1.Fact, 0, len(facts))
	index := make([]int, 0, len(facts))
	for i, f := range facts {
		if f == nil {
			continue
		}
		if err := s.v.Validate(f); err != nil {
			results[i] = validationResult(err)
			continue
		}
		valid = append(valid, f)
		index = append(index, i)
	}
	if len(valid) == 0 {
		return nil
	}
	rs, err := s.led.Record(ctx, valid)
	if err != nil {
		return s.errs.status(ctx, err, "")
	}
	for j, r := range rs {
		// The ledger names fields within the fact's kind ("user_id"); protovalidate,
		// which checked the Fact, names them from the Fact ("user_message.user_id"),
		// and so must the ledger's (the single-fact calls prefix "message." instead).
		if e := r.GetError(); e != nil {
			if kind := factKind(valid[j]); kind != "" {
				for _, v := range e.GetFieldViolations() {
					v.Field = kind + "." + v.GetField()
				}
			}
		}
		results[index[j]] = r
	}
	return nil
}

// factKind is the name of the Fact's kind field that is set (the oneof's member:
// "user_message", "status"...), or "" if none is.
func factKind(f *convstatev1.Fact) string {
	m := f.ProtoReflect()
	if fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind")); fd != nil {
		return string(fd.Name())
	}
	return ""
}

// tally counts a batch's results.
func tally(results []*convstatev1.FactResult) (recorded, duplicates, failed int32) {
	for _, r := range results {
		switch {
		case r.GetError() != nil:
			failed++
		case isDuplicate(r):
			duplicates++
		default:
			recorded++
		}
	}
	return recorded, duplicates, failed
}

func isDuplicate(r *convstatev1.FactResult) bool {
	return r.GetUserMessage().GetDuplicate() || r.GetUserCall().GetDuplicate() ||
		r.GetBusinessMessage().GetDuplicate() || r.GetStatus().GetDuplicate() || r.GetTemplateCategoryChange().GetDuplicate()
}

// validationResult turns a protovalidate error into a batch item error.
func validationResult(err error) *convstatev1.FactResult {
	ie := &convstatev1.ItemError{
		Code:     int32(codes.InvalidArgument),
		CodeName: codes.InvalidArgument.String(),
		Message:  err.Error(),
		Reason:   convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
	}
	var ve *protovalidate.ValidationError
	if errors.As(err, &ve) {
		for _, f := range violationsToFields(ve.ToProto().GetViolations(), "") {
			ie.FieldViolations = append(ie.FieldViolations, &convstatev1.FieldViolation{Field: f.GetField(), Description: f.GetDescription()})
		}
	}
	return &convstatev1.FactResult{Result: &convstatev1.FactResult_Error{Error: ie}}
}

// checkBatch enforces the server's batch limit.
func (s *windowService) checkBatch(n int, field string) error {
	if n >= 1 && n <= s.maxBatch {
		return nil
	}
	reason := convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT
	msg := fmt.Sprintf("%s must hold at least 1 item", field)
	if n > s.maxBatch {
		reason = convstatev1.ErrorReason_ERROR_REASON_BATCH_TOO_LARGE
		msg = fmt.Sprintf("%s holds %d items; at most %d are allowed per call: split the batch", field, n, s.maxBatch)
	}
	return s.errs.status(context.Background(), &ledger.Error{
		Code: codes.InvalidArgument, Reason: reason, Msg: msg, Field: field,
		Metadata: map[string]string{"max": fmt.Sprint(s.maxBatch)},
	}, "")
}

func (s *windowService) Decide(ctx context.Context, req *convstatev1.DecideRequest) (*convstatev1.DecideResponse, error) {
	q := ledger.Question{
		Business: req.GetBusinessId(),
		User:     req.GetUserId(),
		Phone:    req.GetUserPhone(),
		Time:     req.GetTime(),
		Template: req.GetTemplate(),
		Margin:   -1,
		Explain:  req.GetExplain(),
	}
	if m := req.GetSafetyMargin(); m != nil {
		q.Margin = m.AsDuration()
	}
	resp, err := s.led.Decide(ctx, q)
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return resp, nil
}

func (s *windowService) DecideBatch(ctx context.Context, req *convstatev1.DecideBatchRequest) (*convstatev1.DecideBatchResponse, error) {
	if err := s.checkBatch(len(req.GetUserIds()), "user_ids"); err != nil {
		return nil, err
	}
	q := ledger.Question{Business: req.GetBusinessId(), Time: req.GetTime(), Template: req.GetTemplate(), Margin: -1, Explain: req.GetExplain()}
	if m := req.GetSafetyMargin(); m != nil {
		q.Margin = m.AsDuration()
	}
	results, err := s.led.DecideBatch(ctx, q, req.GetUserIds())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	resp := &convstatev1.DecideBatchResponse{Results: results}
	for _, r := range results {
		if d := r.GetDecision(); d != nil {
			if d.GetFreeFormAllowed() {
				resp.FreeFormAllowed++
			} else {
				resp.TemplateRequired++
			}
		}
	}
	return resp, nil
}

func (s *windowService) GetPair(ctx context.Context, req *convstatev1.GetPairRequest) (*convstatev1.GetPairResponse, error) {
	resp, err := s.led.GetPair(ctx, req.GetBusinessId(), req.GetUserId())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return resp, nil
}
