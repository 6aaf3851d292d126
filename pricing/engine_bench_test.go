package pricing_test

import (
	"testing"
	"time"

	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/window"
)

// benchCounts is every monthly counter at the same value.
type benchCounts int64

func (c benchCounts) Count(pricing.CounterKind, string, pricing.Category) (int64, error) {
	return int64(c), nil
}

var sinkCharge pricing.Charge

// BenchmarkPrice rates one message with the embedded cards, as Decide does for its
// quote and a delivered status does for the charge.
func BenchmarkPrice(b *testing.B) {
	cs := pricing.NewCardSet()
	cs.Add(pricing.Embedded()...)
	e := &pricing.Engine{Cards: cs, ServiceAllowance: pricing.DefaultServiceAllowance}
	const h = int64(time.Hour)

	at2025 := time.Date(2025, 9, 10, 12, 0, 0, 0, time.UTC).UnixNano()
	pair2025 := &window.Pair{Activity: []int64{at2025 - 3*h, at2025 - 2*h}}
	at2023 := time.Date(2023, 9, 10, 12, 0, 0, 0, time.UTC).UnixNano()
	pair2023 := &window.Pair{
		Activity: []int64{at2023 - 3*h},
		Conversations: []window.Conversation{{
			Category: int32(pricing.Utility), Start: at2023 - 2*h, End: at2023 + 22*h,
			PricingType: int32(pricing.Regular), Rules: string(pricing.Rules2023),
		}},
	}
	in2025 := pricing.Input{At: at2025, Day: "2025-09-10", Month: "2025-09", Currency: "USD", Region: "IN"}
	in2023 := pricing.Input{At: at2023, Day: "2023-09-10", Month: "2023-09", Currency: "USD", Region: "BR"}
	for _, c := range []struct {
		name string
		in   pricing.Input
		tmpl pricing.Category
		pair *window.Pair
		want pricing.PricingType
	}{
		// 2025 per-message pricing: a marketing template, charged at the tier's rate.
		{"2025/marketing-template", in2025, pricing.Marketing, pair2025, pricing.Regular},
		// 2025: a free-form message inside the window (the common Decide quote).
		{"2025/free-form", in2025, pricing.CategoryUnspecified, pair2025, pricing.FreeCustomerService},
		// 2023 conversation pricing: a utility template inside an open utility conversation.
		{"2023/in-conversation", in2023, pricing.Utility, pair2023, pricing.Regular},
		// 2023: a marketing template that opens a new conversation.
		{"2023/opens-conversation", in2023, pricing.Marketing, pair2023, pricing.Regular},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := c.in
			in.Template = c.tmpl
			b.ReportAllocs()
			for b.Loop() {
				ch, _, err := e.Price(in, c.pair, benchCounts(10))
				if err != nil {
					b.Fatal(err)
				}
				sinkCharge = ch
			}
			if sinkCharge.Type != c.want || sinkCharge.RateUnknown {
				b.Fatalf("priced %+v, want type %v with a known rate", sinkCharge, c.want)
			}
		})
	}
}
