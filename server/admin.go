package server

import (
	"context"
	"strings"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
)

// adminService implements convstate.v1.AdminService.
type adminService struct {
	convstatev1.UnimplementedAdminServiceServer
	led  *ledger.Ledger
	errs *errorMapper
}

func (s *adminService) SetBusinessProfile(ctx context.Context, req *convstatev1.SetBusinessProfileRequest) (*convstatev1.SetBusinessProfileResponse, error) {
	p, err := s.led.SetProfile(ctx, req.GetProfile())
	if err != nil {
		return nil, s.errs.status(ctx, err, "profile.")
	}
	return &convstatev1.SetBusinessProfileResponse{Profile: p}, nil
}

func (s *adminService) GetBusinessProfile(ctx context.Context, req *convstatev1.GetBusinessProfileRequest) (*convstatev1.GetBusinessProfileResponse, error) {
	p, stored, err := s.led.GetProfile(ctx, req.GetBusinessId())
	if err != nil {
		return nil, s.errs.status(ctx, err, "")
	}
	return &convstatev1.GetBusinessProfileResponse{Profile: p, Stored: stored}, nil
}

func (s *adminService) ListRateCards(_ context.Context, req *convstatev1.ListRateCardsRequest) (*convstatev1.ListRateCardsResponse, error) {
	resp := &convstatev1.ListRateCardsResponse{}
	cards := s.led.Engine().Cards
	if cards == nil {
		return resp, nil
	}
	for _, c := range cards.Cards() {
		if cur := req.GetCurrency(); cur != "" && !strings.EqualFold(cur, c.Currency) {
			continue
		}
		rows := c.Rows()
		rc := &convstatev1.RateCard{EffectiveFrom: c.EffectiveFrom, Currency: c.Currency, Source: c.Source, RowCount: int32(len(rows))}
		if req.GetIncludeRows() {
			for _, r := range rows {
				rc.Rows = append(rc.Rows, &convstatev1.RateCardRow{
					Market:   c.DisplayName(r.Market),
					Category: convstatev1.ChargeCategory(r.Category),
					TierFrom: r.TierFrom,
					Rate:     r.Rate.String(),
				})
			}
		}
		resp.Cards = append(resp.Cards, rc)
	}
	return resp, nil
}
