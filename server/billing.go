package server

import (
	"context"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// billingService implements convstate.v1.BillingService.
type billingService struct {
	convstatev1.UnimplementedBillingServiceServer
	led  *ledger.Ledger
	errs *errorMapper
}

func (s *billingService) GetCharge(ctx context.Context, req *convstatev1.GetChargeRequest) (*convstatev1.GetChargeResponse, error) {
	resp, err := s.led.GetCharge(ctx, req.GetBusinessId(), req.GetMessageId())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return resp, nil
}

func (s *billingService) GetUsage(ctx context.Context, req *convstatev1.GetUsageRequest) (*convstatev1.GetUsageResponse, error) {
	scope, id := store.ScopeBusiness, req.GetBusinessId()
	if p := req.GetPortfolioId(); p != "" {
		scope, id = store.ScopePortfolio, p
	}
	resp, err := s.led.GetUsage(ctx, scope, id, req.GetMonth())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return resp, nil
}

func (s *billingService) ListDiscrepancies(ctx context.Context, req *convstatev1.ListDiscrepanciesRequest) (*convstatev1.ListDiscrepanciesResponse, error) {
	resp, err := s.led.ListDiscrepancies(ctx, req.GetBusinessId(), req.GetMonth(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return resp, nil
}
