package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/webhook"
)

// IngestWebhook reads the facts of a raw WhatsApp webhook body and records them
// as RecordFacts does: each validated on its own, all in one durable transaction,
// one result per fact. The caller's token must cover every business in the body.
func (s *windowService) IngestWebhook(ctx context.Context, req *convstatev1.IngestWebhookRequest) (*convstatev1.IngestWebhookResponse, error) {
	items, ignored, err := webhook.Parse([]byte(req.GetBody()))
	if err != nil {
		var be *webhook.BodyError
		msg := err.Error()
		if errors.As(err, &be) {
			msg = be.Reason
		}
		return nil, s.errs.status(ctx, &ledger.Error{
			Code: codes.InvalidArgument, Reason: convstatev1.ErrorReason_ERROR_REASON_INVALID_WEBHOOK,
			Msg: "body is not a WhatsApp Cloud API webhook: " + msg, Field: "body",
		}, "")
	}
	if len(items) > s.maxBatch {
		return nil, s.checkBatch(len(items), "body")
	}
	var ids []string
	all := false
	for _, it := range items {
		switch {
		case it.Fact == nil:
		case it.Fact.GetTemplateCategoryChange() != nil:
			all = true
		default:
			ids = append(ids, factBusiness(it.Fact))
		}
	}
	if err := authorize(ctx, ids, all); err != nil {
		return nil, err
	}

	facts := make([]*convstatev1.Fact, len(items))
	results := make([]*convstatev1.FactResult, len(items))
	for i, it := range items {
		if facts[i] = it.Fact; it.Fact == nil {
			// An item of a webhook that cannot be read is an invalid item, as a fact
			// protovalidate rejects is (INVALID_WEBHOOK is the body's error); its field is
			// named by its path in the body, as WebhookFactResult.path names the item.
			results[i] = &convstatev1.FactResult{Result: &convstatev1.FactResult_Error{Error: &convstatev1.ItemError{
				Code: int32(codes.InvalidArgument), CodeName: codes.InvalidArgument.String(), Message: it.Message(),
				Reason:          convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
				FieldViolations: []*convstatev1.FieldViolation{{Field: it.Field, Description: it.Problem}},
			}}}
		}
	}
	if err := s.recordEach(ctx, facts, results); err != nil {
		return nil, err
	}
	resp := &convstatev1.IngestWebhookResponse{Ignored: int32(ignored)}
	for i, it := range items {
		resp.Results = append(resp.Results, &convstatev1.WebhookFactResult{Path: it.Path, Fact: it.Fact, Result: results[i]})
	}
	resp.Recorded, resp.Duplicates, resp.Failed = tally(results)
	return resp, nil
}
