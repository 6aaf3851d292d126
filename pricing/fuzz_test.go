package pricing

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRegion: user-id and phone parsing never panics, and what it accepts is
// consistent: a normalized id is accepted again with the same region.
func FuzzRegion(f *testing.F) {
	for _, s := range []string{"5511987654321", "+14155550123", "77012345678", "US.13491208655302741918", "XX.1", "", "+", "abc", "999999999999", "80012345678"} {
		f.Add(s, "")
	}
	f.Add("US.123456789", "14155550123")
	f.Fuzz(func(t *testing.T, user, phone string) {
		region, err := Region(user, phone)
		if err != nil {
			return
		}
		if region == "" {
			t.Fatalf("Region(%q, %q) accepted with an empty region", user, phone)
		}
		n, err := NormalizeUser(user)
		if err != nil {
			t.Fatalf("Region accepted %q but NormalizeUser refuses it: %v", user, err)
		}
		again, err := Region(n, phone)
		if err != nil || again != region {
			t.Fatalf("normalized %q -> %q gives region %q/%v, want %q", user, n, again, err, region)
		}
		if ms := Markets(region, "2026-11-01"); len(ms) == 0 {
			t.Fatalf("no market for region %q", region)
		}
	})
}

// FuzzParseCards: the rate card parser never panics, and every card it returns
// answers lookups for its own rows.
func FuzzParseCards(f *testing.F) {
	f.Add([]byte("effective_from,currency,market,category,tier_from,rate\n2025-07-01,USD,Brazil,marketing,0,0.0625\n"))
	f.Add([]byte("# c\n2025-07-01,usd,Other,utility,1000,0.001\n2025-07-01,USD,Other,utility,0,n/a\n"))
	f.Add([]byte("2025-13-01,USD,Brazil,marketing,0,1\n"))
	f.Add([]byte("2025-07-01,USD,Brazil,marketing,-1,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cards, _, err := ParseCards(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the source: %v", err)
			}
			return
		}
		for _, c := range cards {
			for _, r := range c.Rows() {
				rate, tier, ok := c.Rate(r.Market, r.Category, r.TierFrom)
				if !ok || tier != r.TierFrom || rate != r.Rate {
					t.Fatalf("card %s %s: row %+v looks up as %v %v %v", c.EffectiveFrom, c.Currency, r, rate, tier, ok)
				}
				if r.Rate < 0 {
					t.Fatalf("negative rate %v", r.Rate)
				}
			}
		}
	})
}
