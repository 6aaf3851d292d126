package pricing

import (
	"strings"
	"testing"
	"time"

	"github.com/convstate/convstate/window"
)

// testCard is an invented card (test figures, not Meta's) whose rates name their
// row: 0.0<era><category>.
const testCard = `effective_from,currency,market,category,tier_from,rate
2018-08-01,USD,Brazil,template,0,0.018
2022-02-01,USD,Brazil,business_initiated,0,0.0226
2022-02-01,USD,Brazil,user_initiated,0,0.0227
2023-06-01,USD,Brazil,marketing,0,0.0231
2023-06-01,USD,Brazil,utility,0,0.0232
2023-06-01,USD,Brazil,service,0,0.0235
2025-07-01,USD,Brazil,marketing,0,0.0251
2025-07-01,USD,Brazil,utility,0,0.0252
2025-07-01,USD,Brazil,utility,1000,0.02521
2026-10-01,USD,Brazil,marketing,0,0.0261
2026-10-01,USD,Brazil,utility,0,0.0262
`

// counts is a fixed set of counters.
type counts map[CounterKind]int64

func (c counts) Count(k CounterKind, _ string, _ Category) (int64, error) { return c[k], nil }

const h = int64(time.Hour)

// at is a delivery at day (UTC) 12:00.
func at(day string) int64 {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		panic(err)
	}
	return t.Add(12 * time.Hour).UnixNano()
}

// TestPriceEras is a table per rule set of the worked cases of whatsapp-rules.md
// §2–3, through the pure engine.
func TestPriceEras(t *testing.T) {
	cards, _, err := ParseCards(strings.NewReader(testCard), "test.csv")
	if err != nil {
		t.Fatal(err)
	}
	cs := NewCardSet()
	cs.Add(cards...)
	e := &Engine{Cards: cs, ServiceAllowance: DefaultServiceAllowance}
	type want struct {
		amount string
		cat    Category
		typ    PricingType
		model  Model
		rules  Rules
		opens  bool // opens a conversation
		fep    bool // opens a free entry point window
	}
	tests := []struct {
		name   string
		day    string
		tmpl   Category
		pair   func(d int64) *window.Pair
		counts counts
		want   want
	}{
		// 2018: per delivered template; free-form free.
		{"2018 template", "2020-05-05", Marketing, nil, nil, want{"0.018", Template, Regular, NBP, Rules2018, false, false}},
		{"2018 free-form", "2020-05-05", 0, nil, nil, want{"0", Service, FreeCustomerService, NBP, Rules2018, false, false}},
		// 2022: conversations by who started them, 1,000 free a month per WABA, FEP free.
		{"2022 outside the window: business-initiated, free tier", "2022-05-05", Marketing, nil, nil,
			want{"0", BusinessInitiated, FreeTier, CBP, Rules2022, true, false}},
		{"2022 outside the window after the free tier", "2022-05-05", Marketing, nil, counts{CountCBPFree: 1000},
			want{"0.0226", BusinessInitiated, Regular, CBP, Rules2022, true, false}},
		{"2022 reply inside the window: user-initiated", "2022-05-05", 0, withActivity(-h), counts{CountCBPFree: 1000},
			want{"0.0227", UserInitiated, Regular, CBP, Rules2022, true, false}},
		{"2022 inside an open conversation", "2022-05-05", Marketing, withConversation(-h, BusinessInitiated, Regular, Rules2022), nil,
			want{"0", BusinessInitiated, Regular, CBP, Rules2022, false, false}},
		{"2022 first reply to an entry point: free conversation", "2022-05-05", 0, withEntryPoint(-h), counts{CountCBPFree: 1000},
			want{"0", UserInitiated, FreeEntryPoint, CBP, Rules2022, true, true}},
		// 2023: conversations by category, several open at once.
		{"2023 marketing opens a marketing conversation", "2023-07-05", Marketing, nil, nil,
			want{"0.0231", Marketing, Regular, CBP, Rules2023, true, false}},
		{"2023 marketing inside an open marketing conversation", "2023-07-05", Marketing, withConversation(-h, Marketing, Regular, Rules2023), nil,
			want{"0", Marketing, Regular, CBP, Rules2023, false, false}},
		{"2023 utility inside an open marketing conversation opens another", "2023-07-05", Utility, withConversation(-h, Marketing, Regular, Rules2023), nil,
			want{"0.0232", Utility, Regular, CBP, Rules2023, true, false}},
		{"2023 free-form inside an open marketing conversation", "2023-07-05", 0, withConversation(-h, Marketing, Regular, Rules2023), nil,
			want{"0", Marketing, Regular, CBP, Rules2023, false, false}},
		{"2023 free-form opens a service conversation, free tier", "2023-07-05", 0, withActivity(-h), nil,
			want{"0", Service, FreeTier, CBP, Rules2023, true, false}},
		{"2023 service after the free tier", "2024-10-05", 0, withActivity(-h), counts{CountCBPFree: 1000},
			want{"0.0235", Service, Regular, CBP, Rules2023, true, false}},
		{"2023 service free from 2024-11-01", "2024-11-05", 0, withActivity(-h), counts{CountCBPFree: 1000},
			want{"0", Service, FreeCustomerService, CBP, Rules2023, true, false}},
		{"2023 first reply to an entry point: 72 h free", "2023-07-05", Marketing, withEntryPoint(-h), nil,
			want{"0", Marketing, FreeEntryPoint, CBP, Rules2023, false, true}},
		// 2025: per delivered template; utility inside the window and free-form free.
		{"2025 marketing", "2025-08-05", Marketing, withActivity(-h), nil, want{"0.0251", Marketing, Regular, PMP, Rules2025, false, false}},
		{"2025 utility inside the window", "2025-08-05", Utility, withActivity(-h), nil, want{"0", Utility, FreeCustomerService, PMP, Rules2025, false, false}},
		{"2025 utility outside the window", "2025-08-05", Utility, withActivity(-25 * h), nil, want{"0.0252", Utility, Regular, PMP, Rules2025, false, false}},
		{"2025 utility at the second tier", "2025-08-05", Utility, nil, counts{CountTier: 1000}, want{"0.02521", Utility, Regular, PMP, Rules2025, false, false}},
		{"2025 utility just below it", "2025-08-05", Utility, nil, counts{CountTier: 999}, want{"0.0252", Utility, Regular, PMP, Rules2025, false, false}},
		{"2025 free-form", "2025-08-05", 0, withActivity(-h), nil, want{"0", Service, FreeCustomerService, PMP, Rules2025, false, false}},
		{"2025 inside a free entry point window", "2025-08-05", Marketing, withFEP(-h), nil, want{"0", Marketing, FreeEntryPoint, PMP, Rules2025, false, false}},
		// 2026: utility inside the window charged; service after the allowance.
		{"2026 utility inside the window", "2026-11-05", Utility, withActivity(-h), nil, want{"0.0262", Utility, Regular, PMP, Rules2026, false, false}},
		{"2026 free-form within the allowance", "2026-11-05", 0, withActivity(-h), counts{CountService: 999}, want{"0", Service, FreeTier, PMP, Rules2026, false, false}},
		{"2026 free-form after the allowance: the utility rate", "2026-11-05", 0, withActivity(-h), counts{CountService: 1000},
			want{"0.0262", Service, Regular, PMP, Rules2026, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := at(tt.day)
			p := &window.Pair{}
			if tt.pair != nil {
				p = tt.pair(d)
			}
			in := Input{At: d, Day: tt.day, Month: tt.day[:7], Currency: "USD", Region: "BR", Template: tt.tmpl}
			c, eff, err := e.Price(in, p, tt.counts)
			if err != nil {
				t.Fatal(err)
			}
			got := want{c.Amount.String(), c.Category, c.Type, c.Model, c.Rules, eff.OpenConversation != nil, eff.OpenFEP > 0}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func withActivity(offset int64) func(int64) *window.Pair {
	return func(d int64) *window.Pair {
		p := &window.Pair{}
		p.AddActivity(d + offset)
		return p
	}
}

func withEntryPoint(offset int64) func(int64) *window.Pair {
	return func(d int64) *window.Pair {
		p := &window.Pair{}
		p.AddActivity(d + offset)
		p.AddEntryPoint(d+offset, 1)
		return p
	}
}

func withFEP(offset int64) func(int64) *window.Pair {
	return func(d int64) *window.Pair {
		p := withEntryPoint(offset)(d)
		p.OpenFEP(d+offset, 72*h)
		return p
	}
}

func withConversation(offset int64, cat Category, typ PricingType, rules Rules) func(int64) *window.Pair {
	return func(d int64) *window.Pair {
		p := &window.Pair{}
		p.AddConversation(window.Conversation{Category: int32(cat), Start: d + offset, End: d + offset + 24*h, PricingType: int32(typ), Rules: string(rules)})
		return p
	}
}
