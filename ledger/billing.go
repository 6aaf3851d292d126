package ledger

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
)

// GetCharge returns a business message as recorded, its statuses and its charge.
func (l *Ledger) GetCharge(ctx context.Context, business, id string) (*convstatev1.GetChargeResponse, error) {
	var f *storagev1.Fact
	err := l.view(ctx, func(tx store.ReadTx) error {
		var err error
		f, err = tx.Fact(business, id)
		return err
	})
	if notFound(err) || (err == nil && f.GetOutbound() == nil) {
		return nil, &Error{
			Code:     codes.NotFound,
			Reason:   convstatev1.ErrorReason_ERROR_REASON_UNKNOWN_MESSAGE,
			Msg:      fmt.Sprintf("no business message %q is recorded for business %q", id, business),
			Metadata: map[string]string{"business_id": business, "message_id": id},
		}
	}
	if err != nil {
		return nil, err
	}
	out := f.GetOutbound()
	resp := &convstatev1.GetChargeResponse{
		Message: &convstatev1.BusinessMessage{
			BusinessId: business,
			UserId:     f.UserId,
			MessageId:  id,
			Timestamp:  ts(f.Timestamp),
			Template:   convstatev1.TemplateCategory(out.Template),
			UserPhone:  out.UserPhone,
		},
		Charge: chargeToAPI(out.Charge),
	}
	for _, s := range out.Statuses {
		resp.Statuses = append(resp.Statuses, &convstatev1.StatusEvent{
			Status:    convstatev1.MessageStatus(s.Status),
			Timestamp: ts(s.Timestamp),
			ErrorCode: s.ErrorCode,
		})
	}
	return resp, nil
}

// GetUsage returns a month's usage of a business or a portfolio. An empty month
// means the current one in the business's time zone (UTC for a portfolio).
func (l *Ledger) GetUsage(ctx context.Context, scope store.Scope, id, month string) (*convstatev1.GetUsageResponse, error) {
	resp := &convstatev1.GetUsageResponse{TotalCost: map[string]string{}}
	totals := map[string]pricing.Nanos{}
	err := l.view(ctx, func(tx store.ReadTx) error {
		m := month
		if m == "" {
			loc := time.UTC
			if scope == store.ScopeBusiness {
				prof, _, err := l.loadProfile(tx, id)
				if err != nil {
					return err
				}
				loc = prof.loc
			}
			m = l.cfg.Now().In(loc).Format("2006-01")
		}
		resp.Month = m
		resp.Rows, resp.TotalVolume = nil, 0
		clear(totals)
		return tx.Usage(scope, id, m, func(k store.UsageKey, u *storagev1.Usage) error {
			resp.Rows = append(resp.Rows, &convstatev1.UsageRow{
				Market:            k.Market,
				Category:          convstatev1.ChargeCategory(k.Category),
				PricingType:       convstatev1.PricingType(k.PricingType),
				Volume:            u.Volume,
				Conversations:     u.Conversations,
				Cost:              pricing.Nanos(u.CostNanos).String(),
				CostNanos:         u.CostNanos,
				Currency:          u.Currency,
				RateUnknownVolume: u.RateUnknownVolume,
			})
			resp.TotalVolume += u.Volume
			totals[u.Currency] += pricing.Nanos(u.CostNanos)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for cur, n := range totals {
		resp.TotalCost[cur] = n.String()
	}
	return resp, nil
}
