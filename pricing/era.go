package pricing

// Model is Meta's pricing model; values equal convstate.v1.PricingModel.
type Model int32

// Pricing models.
const (
	NBP Model = 1 // notification-based: per delivered template
	CBP Model = 2 // conversation-based
	PMP Model = 3 // per-message
)

func (m Model) String() string {
	switch m {
	case NBP:
		return "NBP"
	case CBP:
		return "CBP"
	case PMP:
		return "PMP"
	}
	return "unspecified"
}

// PricingType says why a message cost what it cost; values equal convstate.v1.PricingType.
type PricingType int32

// Pricing types.
const (
	Regular             PricingType = 1
	FreeCustomerService PricingType = 2
	FreeEntryPoint      PricingType = 3
	FreeTier            PricingType = 4
)

func (p PricingType) String() string {
	switch p {
	case Regular:
		return "regular"
	case FreeCustomerService:
		return "free_customer_service"
	case FreeEntryPoint:
		return "free_entry_point"
	case FreeTier:
		return "free_tier"
	}
	return "unspecified"
}

// Rules is one of Meta's rule sets, named by the date it took effect at 00:00 in the
// business's time zone (whatsapp-rules.md §1–3).
type Rules string

// The rule sets. Dates are compared as "YYYY-MM-DD" strings.
const (
	// Per-template (notification) pricing from the launch of the API in 2018-08.
	Rules2018 Rules = "2018-08-01"
	// Conversation-based pricing: user-/business-initiated 24 h conversations,
	// 1,000 free a month per WABA, free entry point conversations.
	Rules2022 Rules = "2022-02-01"
	// Conversations by category, several open at once; 1,000 free service
	// conversations a month per WABA until 2024-10-31, service free from
	// 2024-11-01; 72 h free entry point windows.
	Rules2023 Rules = "2023-06-01"
	// Per-message pricing: delivered templates charged by category; utility
	// delivered inside the window and free-form free; volume tiers.
	Rules2025 Rules = "2025-07-01"
	// Utility inside the window charged; free-form (service) charged after a
	// monthly free allowance per business number.
	Rules2026 Rules = "2026-10-01"
)

const (
	// serviceFreeFrom is when service conversations became free (2023 rules).
	serviceFreeFrom = "2024-11-01"
	// authIntlFrom is the first authentication-international rate (Indonesia).
	authIntlFrom = "2024-06-01"
	// fepWindowFrom is when the free entry point conversation became one 72 h window
	// that closes the other conversations and lets none open until it ends, still
	// under the 2022 rules until 2023-05-31 (whatsapp-rules.md §1 and §3.2, CONFIRMED:
	// Meta's timeline [S10], the date per BSP [S30b]).
	fepWindowFrom = "2023-03-01"
	// usMarketingPauseFrom: marketing templates to US numbers are not delivered.
	usMarketingPauseFrom = "2025-04-01"
	// CBPFreeTier is the free conversations a month per WABA (2022 rules: any
	// conversation; 2023 rules until 2024-10-31: service conversations).
	CBPFreeTier = 1000
)

// RulesOn returns the rule set in force on day ("YYYY-MM-DD", business-local).
func RulesOn(day string) Rules {
	switch {
	case day >= string(Rules2026):
		return Rules2026
	case day >= string(Rules2025):
		return Rules2025
	case day >= string(Rules2023):
		return Rules2023
	case day >= string(Rules2022):
		return Rules2022
	}
	return Rules2018
}

// Model returns the pricing model of a rule set.
func (r Rules) Model() Model {
	switch r {
	case Rules2018:
		return NBP
	case Rules2022, Rules2023:
		return CBP
	}
	return PMP
}

// conversational reports whether the rule set charges per conversation.
func (r Rules) conversational() bool { return r.Model() == CBP }

// FEPLength is how long a free entry point window lasts under r on day (the
// business's local date, YYYY-MM-DD): the free 24 h conversation under the 2022
// rules until fepWindowFrom, 72 h from then on; 0 when there is none (2018).
func (r Rules) FEPLength(day string) int64 {
	const hour = int64(3600e9)
	switch {
	case r == Rules2018:
		return 0
	case r == Rules2022 && day < fepWindowFrom:
		return 24 * hour
	}
	return 72 * hour
}
