package replay

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// Output shapes, one per kind of line. Field order is the JSON key order.

type head struct {
	Line      int  `json:"line"`
	Duplicate bool `json:"duplicate,omitempty"`
}

type userOut struct {
	head
	WindowExpiresAt *string `json:"window_expires_at"`
}

type sendOut struct {
	head
	Warnings []string `json:"warnings,omitempty"`
}

type statusOut struct {
	head
	Charge *Charge `json:"charge,omitempty"`
}

type checkOut struct {
	head
	FreeFormAllowed  bool     `json:"free_form_allowed"`
	TemplateRequired bool     `json:"template_required"`
	Reason           string   `json:"reason,omitempty"` // with --explain
	WindowExpiresAt  *string  `json:"window_expires_at"`
	FEPExpiresAt     *string  `json:"fep_expires_at"`
	Quote            *Charge  `json:"quote"`
	Warnings         []string `json:"warnings,omitempty"`
}

type errorOut struct {
	Line  int       `json:"line"`
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Charge is the output form of a charge.
type Charge struct {
	Amount      *string `json:"amount"`
	Currency    string  `json:"currency"`
	Market      string  `json:"market"`
	Category    string  `json:"category"`
	PricingType string  `json:"pricing_type"`
	Model       string  `json:"model"`
	Rules       string  `json:"rules"`
	RateUnknown bool    `json:"rate_unknown,omitempty"`
	Tier        *int64  `json:"tier,omitempty"`        // with --explain
	Explanation string  `json:"explanation,omitempty"` // with --explain
}

var categoryNames = map[convstatev1.ChargeCategory]string{
	convstatev1.ChargeCategory_CHARGE_CATEGORY_MARKETING:                    "marketing",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_UTILITY:                      "utility",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_AUTHENTICATION:               "authentication",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_AUTHENTICATION_INTERNATIONAL: "authentication_international",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_SERVICE:                      "service",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_BUSINESS_INITIATED:           "business_initiated",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_USER_INITIATED:               "user_initiated",
	convstatev1.ChargeCategory_CHARGE_CATEGORY_TEMPLATE:                     "template",
}

var pricingTypeNames = map[convstatev1.PricingType]string{
	convstatev1.PricingType_PRICING_TYPE_REGULAR:               "regular",
	convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE: "free_customer_service",
	convstatev1.PricingType_PRICING_TYPE_FREE_ENTRY_POINT:      "free_entry_point",
	convstatev1.PricingType_PRICING_TYPE_FREE_TIER:             "free_tier",
}

var modelNames = map[convstatev1.PricingModel]string{
	convstatev1.PricingModel_PRICING_MODEL_NBP: "NBP",
	convstatev1.PricingModel_PRICING_MODEL_CBP: "CBP",
	convstatev1.PricingModel_PRICING_MODEL_PMP: "PMP",
}

var reasonNames = map[convstatev1.DecisionReason]string{
	convstatev1.DecisionReason_DECISION_REASON_WINDOW_OPEN:      "window_open",
	convstatev1.DecisionReason_DECISION_REASON_WINDOW_CLOSING:   "window_closing",
	convstatev1.DecisionReason_DECISION_REASON_WINDOW_EXPIRED:   "window_expired",
	convstatev1.DecisionReason_DECISION_REASON_NO_USER_ACTIVITY: "no_user_activity",
	convstatev1.DecisionReason_DECISION_REASON_FORCE_CLOSED:     "force_closed",
}

// CategoryName is the replay name of a charge category ("marketing", ...).
func CategoryName(c convstatev1.ChargeCategory) string { return categoryNames[c] }

// PricingTypeName is the replay name of a pricing type ("regular", ...).
func PricingTypeName(p convstatev1.PricingType) string { return pricingTypeNames[p] }

func charge(c *convstatev1.Charge, explain bool) *Charge {
	if c == nil {
		return nil
	}
	out := &Charge{
		Currency:    c.GetCurrency(),
		Market:      c.GetMarket(),
		Category:    categoryNames[c.GetCategory()],
		PricingType: pricingTypeNames[c.GetPricingType()],
		Model:       modelNames[c.GetModel()],
		Rules:       c.GetRules(),
		RateUnknown: c.GetRateUnknown(),
	}
	if !c.GetRateUnknown() {
		a := c.GetAmount()
		out.Amount = &a
	}
	if explain {
		tier := c.GetTier()
		out.Tier, out.Explanation = &tier, c.GetExplanation()
	}
	return out
}

// timeString formats a timestamp as RFC 3339 in UTC; nil stays nil (JSON null).
func timeString(ts *timestamppb.Timestamp) *string {
	if ts == nil {
		return nil
	}
	s := ts.AsTime().UTC().Format(time.RFC3339Nano)
	return &s
}

func warnings(ws []*convstatev1.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.GetMessage())
	}
	return out
}
