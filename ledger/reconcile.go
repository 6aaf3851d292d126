package ledger

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
)

// reported converts Meta's pricing object of a status to its stored form.
func reported(r *convstatev1.ReportedPricing, status int32) *storagev1.Reported {
	if r == nil {
		return nil
	}
	return &storagev1.Reported{
		PricingModel: strings.ToUpper(strings.TrimSpace(r.GetPricingModel())),
		Category:     strings.ToLower(strings.TrimSpace(r.GetCategory())),
		Type:         strings.ToLower(strings.TrimSpace(r.GetType())),
		HasBillable:  r.Billable != nil,
		Billable:     r.GetBillable(),
		Status:       status,
	}
}

func reportedToAPI(r *storagev1.Reported) *convstatev1.ReportedPricing {
	if r == nil {
		return nil
	}
	out := &convstatev1.ReportedPricing{PricingModel: r.PricingModel, Category: r.Category, Type: r.Type}
	if r.HasBillable {
		b := r.Billable
		out.Billable = &b
	}
	return out
}

// metaCategory maps Meta's pricing.category to convstate's category; ok=false for
// values that name no category to compare (referral_conversion, unknown ones).
func metaCategory(c string) (pricing.Category, bool) {
	c = strings.TrimPrefix(c, "group_")
	switch c {
	case "marketing", "marketing_lite":
		return pricing.Marketing, true
	case "authentication-international":
		return pricing.AuthenticationInternational, true
	}
	cat, ok := pricing.ParseCategory(c)
	return cat, ok && cat != pricing.Template
}

// categoryForReported is the template category of a message known only from a
// status, by Meta's reported category (service or unknown: free-form).
func categoryForReported(r *convstatev1.ReportedPricing) int32 {
	if r == nil {
		return 0
	}
	cat, ok := metaCategory(strings.ToLower(r.GetCategory()))
	if !ok {
		if r.GetCategory() == "business_initiated" || (r.Billable != nil && r.GetBillable() && r.GetCategory() == "") {
			return int32(convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY) // a template; its category does not change the price then
		}
		return 0
	}
	switch cat {
	case pricing.Marketing:
		return int32(convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING)
	case pricing.Utility:
		return int32(convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY)
	case pricing.Authentication:
		return int32(convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION)
	case pricing.AuthenticationInternational:
		return int32(convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION_INTERNATIONAL)
	}
	return 0
}

// differences lists where Meta's pricing object disagrees with convstate's charge:
// the model, the category, the free type, and billable (when Meta sent it).
func differences(c *storagev1.Charge, r *storagev1.Reported) []string {
	var d []string
	ourType := pricing.PricingType(c.PricingType)
	if m := r.PricingModel; m != "" && m != pricing.Model(c.Model).String() {
		d = append(d, fmt.Sprintf("model: convstate %s, Meta %s", pricing.Model(c.Model), m))
	}
	switch cat, ok := metaCategory(r.Category); {
	case r.Category == "referral_conversion" && ourType != pricing.FreeEntryPoint:
		d = append(d, fmt.Sprintf("free type: convstate %s, Meta free entry point (referral_conversion)", ourType))
	case ok && cat != pricing.Category(c.Category):
		d = append(d, fmt.Sprintf("category: convstate %s, Meta %s", pricing.Category(c.Category), r.Category))
	}
	// Meta's types are regular, free_customer_service and free_entry_point; the 2026
	// allowance (free_tier) has no reported type yet, so it is compared by billable.
	if r.Type != "" && ourType != pricing.FreeTier && r.Type != ourType.String() {
		d = append(d, fmt.Sprintf("free type: convstate %s, Meta %s", ourType, r.Type))
	}
	if r.HasBillable {
		ours := ourType == pricing.Regular
		if ours != r.Billable {
			d = append(d, fmt.Sprintf("billable: convstate %t, Meta %t", ours, r.Billable))
		}
	}
	return d
}

// reconcile stores (or clears) the discrepancy of a charged message with Meta's
// report, and counts a new one.
func (a *applier) reconcile(business, id string, f *storagev1.Fact, out *storagev1.Outbound) error {
	if out.Charge == nil || out.Reported == nil {
		return nil
	}
	c := out.Charge
	diff := differences(c, out.Reported)
	if len(diff) == 0 {
		return a.tx.DeleteDiscrepancy(business, c.Month, id)
	}
	a.ev.pricingDiscrepancies++
	return a.tx.PutDiscrepancy(business, c.Month, id, &storagev1.Discrepancy{UserId: f.UserId, ChargedAt: c.ChargedAt, Differences: diff})
}

// ListDiscrepancies lists a business's discrepancies of a month (default: the
// current one in its time zone), a page at a time.
func (l *Ledger) ListDiscrepancies(ctx context.Context, business, month string, pageSize int, pageToken string) (*convstatev1.ListDiscrepanciesResponse, error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	after := ""
	if pageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil {
			return nil, &Error{Code: codes.InvalidArgument, Reason: convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
				Msg: "page_token is not one convstate returned", Field: "page_token"}
		}
		after = string(b)
	}
	resp := &convstatev1.ListDiscrepanciesResponse{}
	err := l.view(ctx, func(tx store.ReadTx) error {
		resp.Discrepancies, resp.NextPageToken = nil, ""
		m := month
		if m == "" {
			prof, _, err := l.loadProfile(tx, business)
			if err != nil {
				return err
			}
			m = l.cfg.Now().In(prof.loc).Format("2006-01")
		}
		resp.Month = m
		return tx.Discrepancies(business, m, after, func(id string, d *storagev1.Discrepancy) error {
			if len(resp.Discrepancies) == pageSize {
				resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(resp.Discrepancies[pageSize-1].MessageId))
				return errEnough
			}
			out := &convstatev1.Discrepancy{BusinessId: business, MessageId: id, UserId: d.UserId, ChargedAt: ts(d.ChargedAt), Differences: d.Differences}
			f, err := tx.Fact(business, id)
			if err != nil && !notFound(err) {
				return err
			}
			if o := f.GetOutbound(); o != nil {
				out.Computed = chargeToAPI(o.Charge)
				out.Reported = reportedToAPI(o.Reported)
			}
			resp.Discrepancies = append(resp.Discrepancies, out)
			return nil
		})
	})
	if err == errEnough {
		err = nil
	}
	return resp, err
}

// windowDiscrepancy records a 131047 for a free-form message convstate had inside
// the window: Meta's clock disagreed with convstate's.
func (a *applier) windowDiscrepancy(prof *profile, business, id, user string, at int64) error {
	return a.tx.PutDiscrepancy(business, prof.month(at), id, &storagev1.Discrepancy{
		UserId: user, ChargedAt: at,
		Differences: []string{"window: convstate had the customer service window open; Meta rejected the free-form message with 131047 at " +
			time.Unix(0, at).UTC().Format(time.RFC3339)},
	})
}
