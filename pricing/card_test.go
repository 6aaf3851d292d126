package pricing

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t *testing.T, csv string) ([]*Card, []Warning) {
	t.Helper()
	cards, warnings, err := ParseCards(strings.NewReader(csv), "rates.csv")
	if err != nil {
		t.Fatalf("ParseCards: %v", err)
	}
	return cards, warnings
}

func TestParseCards(t *testing.T) {
	const in = `# operator card
effective_from,currency,market,category,tier_from,rate

2025-07-01, usd, Brazil, marketing, 0, 0.0625
2025-07-01,USD,UAE,utility,0,0.0157
2025-07-01,USD,united arab emirates,marketing,0,0.0499
2025-07-01,USD,Brazil,authentication,0,n/a
2025-07-01,USD,Brazil,service,0,
2025-07-01,USD,Atlantis,marketing,0,1
2025-07-01,USD,Atlantis,utility,0,1
2025-07-01,USD,Brazil,marketing_lite,0,0.05
   # indented: not a comment (encoding/csv), so a 1-field record
`
	_, _, err := ParseCards(strings.NewReader(in), "rates.csv")
	if err == nil || !strings.Contains(err.Error(), "rates.csv:12: want 6 fields") {
		t.Fatalf("indented '#' line: err = %v, want an error at line 12", err)
	}

	cards, warnings := mustParse(t, strings.Join(strings.Split(in, "\n")[:11], "\n")+`
2025-07-01,EUR,Brazil,marketing,0,0.0500
2024-01-01,USD,Other,marketing,0,0.0604
`)
	type summary struct {
		Date, Currency, Source string
		Rows                   []Row
	}
	var got []summary
	for _, c := range cards {
		got = append(got, summary{c.EffectiveFrom, c.Currency, c.Source, c.Rows()})
	}
	want := []summary{
		{"2025-07-01", "EUR", "rates.csv", []Row{{"Brazil", Marketing, 0, 50_000_000}}},
		{"2024-01-01", "USD", "rates.csv", []Row{{"Other", Marketing, 0, 60_400_000}}},
		{"2025-07-01", "USD", "rates.csv", []Row{
			{"Atlantis", Marketing, 0, 1_000_000_000},
			{"Atlantis", Utility, 0, 1_000_000_000},
			{"Brazil", Marketing, 0, 62_500_000},
			{"United Arab Emirates", Marketing, 0, 49_900_000},
			{"United Arab Emirates", Utility, 0, 15_700_000},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cards (-want +got):\n%s", diff)
	}
	wantWarnings := []Warning{
		{"rates.csv", 9, `unknown market "Atlantis": rows kept but no recipient maps to it`},
		{"rates.csv", 11, `unknown category "marketing_lite": row skipped`},
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	c := cards[2]
	if got := c.DisplayName("United Arab Emirates"); got != "UAE" {
		t.Errorf("DisplayName(UAE) = %q, want the first spelling %q", got, "UAE")
	}
	if got := c.DisplayName("Brazil"); got != "Brazil" {
		t.Errorf("DisplayName(Brazil) = %q", got)
	}
	if !c.Prices("Brazil") || !c.Prices("Atlantis") || c.Prices("Other") {
		t.Errorf("Prices: Brazil %v Atlantis %v Other %v", c.Prices("Brazil"), c.Prices("Atlantis"), c.Prices("Other"))
	}
	if _, _, ok := c.Rate("Brazil", Authentication, 0); ok {
		t.Errorf("Brazil authentication n/a: Rate ok, want unknown")
	}
}

func TestParseCardsHeaderOptional(t *testing.T) {
	for _, in := range []string{
		"2023-06-01,USD,Other,marketing,0,0.0604\n",
		"effective_from,currency,market,category,tier_from,rate\n2023-06-01,USD,Other,marketing,0,0.0604",
		"\n# c\n\neffective_from, currency, market, category, tier_from, rate\r\n2023-06-01,USD,Other,marketing,0,0.0604\r\n",
	} {
		cards, warnings := mustParse(t, in)
		if len(cards) != 1 || len(warnings) != 0 {
			t.Fatalf("%q: %d cards, warnings %v", in, len(cards), warnings)
		}
		if r, _, ok := cards[0].Rate("Other", Marketing, 0); !ok || r != 60_400_000 {
			t.Errorf("%q: Rate = %v, %v", in, r, ok)
		}
	}
	if cards, _ := mustParse(t, "# nothing\n"); len(cards) != 0 {
		t.Errorf("comment-only input: %d cards", len(cards))
	}
}

func TestParseCardsErrors(t *testing.T) {
	const ok = "2023-06-01,USD,Other,marketing,0,0.0604\n"
	tests := []struct {
		in, want string
	}{
		{ok + "2023-06-01,USD,Other,marketing,0\n", "rates.csv:2: want 6 fields"},
		{ok + "2023-06-01,USD,Other,marketing,0,1,2\n", "rates.csv:2: want 6 fields"},
		{ok + "# c\n2023-6-01,USD,Other,marketing,0,1\n", `rates.csv:3: effective_from "2023-6-01" is not a date`},
		{ok + "2023-02-30,USD,Other,marketing,0,1\n", `rates.csv:2: effective_from "2023-02-30" is not a date`},
		{"effective_from,currency,market,category,tier,rate\n", `rates.csv:1: effective_from "effective_from" is not a date`},
		{ok + "# c\neffective_from,currency,market,category,tier_from,rate\n", `rates.csv:3: effective_from "effective_from"`}, // header only first
		{ok + "2023-06-01,US,Other,marketing,0,1\n", `rates.csv:2: currency "US" is not a 3-letter ISO 4217 code`},
		{ok + "2023-06-01,U1D,Other,marketing,0,1\n", `rates.csv:2: currency "U1D"`},
		{ok + "2023-06-01,USD,,marketing,0,1\n", "rates.csv:2: market is empty"},
		{ok + "\n\n2023-06-01,USD,Brazil,marketing,x,1\n", `rates.csv:4: tier_from "x" is not a non-negative integer`},
		{ok + "2023-06-01,USD,Brazil,marketing,-1,1\n", `rates.csv:2: tier_from "-1" is not a non-negative integer`},
		{ok + "2023-06-01,USD,Brazil,marketing,,1\n", `rates.csv:2: tier_from "" is not`},
		{ok + "2023-06-01,USD,Brazil,marketing,99999999999999999999,1\n", `rates.csv:2: tier_from "99999999999999999999" is too large`},
		{ok + "2023-06-01,USD,Brazil,marketing,0,-0.1\n", `rates.csv:2: rate: amount "-0.1"`},
		{ok + "2023-06-01,USD,Brazil,marketing,0,1e-3\n", `rates.csv:2: rate: amount "1e-3"`},
		{ok + "2023-06-01,USD,Brazil,bogus,0,abc\n", `rates.csv:2: rate: amount "abc"`},
		{ok + "2023-06-01,usd,other,Marketing,0,0.07\n", "rates.csv:2: duplicate rate for 2023-06-01 USD Other marketing tier_from 0 (first at line 1)"},
		{ok + "2023-06-01,USD,Atlantis,marketing,0,1\n2023-06-01,USD,Atlantis,marketing,0,2\n", "rates.csv:3: duplicate rate"},
		{ok + "2023-06-01,USD,Other,marketing,0,\"0.06\n", "rates.csv:2:"},
	}
	for _, tt := range tests {
		_, _, err := ParseCards(strings.NewReader(tt.in), "rates.csv")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCards(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
	// The same row in two cards is not a duplicate.
	mustParse(t, ok+"2023-06-01,EUR,Other,marketing,0,0.05\n2024-06-01,USD,Other,marketing,0,0.06\n")
}

func TestRateTiers(t *testing.T) {
	cards, _ := mustParse(t, `2025-07-01,USD,India,utility,5000,0.0010
2025-07-01,USD,India,utility,0,0.0014
2025-07-01,USD,India,utility,1000,0.0012
2025-07-01,USD,India,marketing,0,0.0107
`)
	c := cards[0]
	tests := []struct {
		n        int64
		rate     Nanos
		tierFrom int64
	}{
		{-1, 1_400_000, 0}, {0, 1_400_000, 0}, {999, 1_400_000, 0},
		{1000, 1_200_000, 1000}, {4999, 1_200_000, 1000},
		{5000, 1_000_000, 5000}, {1 << 40, 1_000_000, 5000},
	}
	for _, tt := range tests {
		rate, from, ok := c.Rate("India", Utility, tt.n)
		if !ok || rate != tt.rate || from != tt.tierFrom {
			t.Errorf("Rate(India, utility, %d) = %v, %d, %v; want %v, %d", tt.n, rate, from, ok, tt.rate, tt.tierFrom)
		}
	}
	if _, _, ok := c.Rate("India", Authentication, 0); ok {
		t.Error("Rate(India, authentication) ok, want unknown")
	}
	if _, _, ok := c.Rate("Brazil", Utility, 0); ok {
		t.Error("Rate(Brazil, utility) ok, want unknown")
	}
	// A card whose lowest tier is above n does not price the first messages.
	cards, _ = mustParse(t, "2025-07-01,USD,India,utility,100,0.0012\n")
	if _, _, ok := cards[0].Rate("India", Utility, 99); ok {
		t.Error("Rate below the first tier ok, want unknown")
	}
}

func TestCardSet(t *testing.T) {
	embeddedLike, _ := mustParse(t, `2023-06-01,USD,Other,marketing,0,0.0604
2024-10-01,USD,Other,marketing,0,0.0605
2025-07-01,USD,Other,marketing,0,0.0606
2024-01-01,EUR,Other,marketing,0,0.0500
`)
	s := NewCardSet()
	s.Add(embeddedLike[3], embeddedLike[1]) // out of order on purpose
	s.Add(embeddedLike[2], embeddedLike[0])

	rate := func(c *Card) string {
		if c == nil {
			return "nil"
		}
		r, _, _ := c.Rate("Other", Marketing, 0)
		return c.Currency + " " + c.EffectiveFrom + " " + r.String()
	}
	tests := []struct{ currency, day, want string }{
		{"USD", "2023-05-31", "nil"},
		{"USD", "2023-06-01", "USD 2023-06-01 0.0604"},
		{"USD", "2024-09-30", "USD 2023-06-01 0.0604"},
		{"USD", "2024-10-01", "USD 2024-10-01 0.0605"},
		{"usd", "2025-06-30", "USD 2024-10-01 0.0605"},
		{"USD", "2026-11-22", "USD 2025-07-01 0.0606"},
		{"EUR", "2025-01-01", "EUR 2024-01-01 0.05"},
		{"EUR", "2023-12-31", "nil"},
		{"INR", "2025-01-01", "nil"},
	}
	for _, tt := range tests {
		if got := rate(s.Find(tt.currency, tt.day)); got != tt.want {
			t.Errorf("Find(%s, %s) = %s, want %s", tt.currency, tt.day, got, tt.want)
		}
	}

	// An operator file with the same (date, currency) replaces the card.
	override, _ := mustParse(t, "2024-10-01,USD,Brazil,marketing,0,0.0625\n")
	s.Add(override...)
	c := s.Find("USD", "2025-01-01")
	if c != override[0] || c.Prices("Other") {
		t.Errorf("after override Find = %s, want the override card (which does not price Other)", rate(c))
	}
	var keys []string
	for _, c := range s.Cards() {
		keys = append(keys, c.Currency+" "+c.EffectiveFrom)
	}
	if diff := cmp.Diff([]string{"EUR 2024-01-01", "USD 2023-06-01", "USD 2024-10-01", "USD 2025-07-01"}, keys); diff != "" {
		t.Errorf("Cards() (-want +got):\n%s", diff)
	}
}

// knownCurrencies are the billing currencies of Meta's cards named in
// whatsapp-rules.md §3.8 [S1][S36e-b].
var knownCurrencies = map[string]bool{
	"USD": true, "EUR": true, "GBP": true, "INR": true, "IDR": true, "BRL": true, "MXN": true, "ARS": true,
	"COP": true, "AED": true, "SAR": true, "AUD": true, "MYR": true, "PEN": true, "CLP": true, "SGD": true,
}

func TestEmbedded(t *testing.T) {
	cards, warnings, err := parseEmbedded()
	if err != nil {
		t.Fatalf("embedded cards: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("embedded cards have warnings: %v", warnings)
	}
	var got []string
	for _, c := range cards {
		got = append(got, c.Currency+" "+c.EffectiveFrom+" "+c.Source)
		if !knownCurrencies[c.Currency] {
			t.Errorf("%s: unknown currency %q", c.Source, c.Currency)
		}
		for _, r := range c.Rows() {
			if canon, ok := CanonicalMarket(r.Market); !ok || canon != r.Market {
				t.Errorf("%s: market %q is not a canonical market", c.Source, r.Market)
			}
			if r.TierFrom != 0 {
				t.Errorf("%s: %s %s has tier_from %d; no tier thresholds are known", c.Source, r.Market, r.Category, r.TierFrom)
			}
			if r.Rate <= 0 {
				t.Errorf("%s: %s %s rate %v; unknown rates must be absent, not 0", c.Source, r.Market, r.Category, r.Rate)
			}
		}
	}
	want := []string{
		"USD 2022-02-01 embedded:usd-2022-02-01.csv",
		"USD 2023-06-01 embedded:usd-2023-06-01.csv",
		"USD 2024-06-01 embedded:usd-2024-06-01.csv",
		"USD 2024-07-01 embedded:usd-2024-07-01.csv",
		"USD 2024-08-01 embedded:usd-2024-08-01.csv",
		"USD 2024-10-01 embedded:usd-2024-10-01.csv",
		"USD 2025-07-01 embedded:usd-2025-07-01.csv",
		"USD 2025-10-01 embedded:usd-2025-10-01.csv",
		"USD 2026-01-01 embedded:usd-2026-01-01.csv",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embedded cards (-want +got):\n%s", diff)
	}
	if e := Embedded(); len(e) != len(cards) || &e[0] == &cards[0] {
		t.Errorf("Embedded() = %d cards (want %d, in a fresh slice)", len(e), len(cards))
	}
}

// TestEmbeddedRates spot-checks the embedded figures against
// whatsapp-rules.md §5 through CardSet.Find, i.e. as the engine sees them.
func TestEmbeddedRates(t *testing.T) {
	s := NewCardSet()
	s.Add(Embedded()...)
	tests := []struct {
		day    string
		market string
		cat    Category
		want   string // "" = unknown
	}{
		{"2022-01-31", "Brazil", BusinessInitiated, ""}, // notification era: NOT FOUND
		{"2022-02-01", "Brazil", BusinessInitiated, "0.05"},
		{"2023-05-31", "Rest of Latin America", UserInitiated, "0.0423"},
		{"2023-05-31", "Other", BusinessInitiated, ""},  // UNCERTAIN in §5.2
		{"2023-06-01", "Brazil", BusinessInitiated, ""}, // CBP v1 card replaced
		{"2023-06-01", "India", Authentication, "0.0042"},
		{"2023-06-01", "Other", Service, "0.0145"},
		{"2023-06-01", "Germany", Utility, "0.0853"},
		{"2024-05-31", "Brazil", Authentication, "0.0315"},
		{"2024-06-01", "Brazil", Authentication, ""}, // carry-over UNCERTAIN (§5.3)
		{"2024-06-01", "Indonesia", AuthenticationInternational, "0.136"},
		{"2024-06-01", "Indonesia", Authentication, "0.03"},
		{"2024-06-30", "India", AuthenticationInternational, ""},
		{"2024-07-01", "India", Authentication, "0.0014"},
		{"2024-07-01", "India", AuthenticationInternational, "0.028"},
		{"2024-07-31", "Brazil", Utility, "0.035"},
		{"2024-08-01", "Brazil", Utility, "0.008"},
		{"2024-08-01", "Rest of Latin America", Utility, "0.0113"},
		{"2024-08-01", "Other", Utility, "0.0077"},
		{"2024-09-30", "India", Marketing, "0.0099"},
		{"2024-10-01", "India", Marketing, "0.0107"},
		{"2024-10-01", "United Kingdom", Marketing, "0.0529"},
		{"2025-06-30", "United Kingdom", Service, "0.0388"}, // free by rule from 2024-11-01, not by card
		{"2025-07-01", "United Kingdom", Marketing, ""},
		{"2025-07-01", "Brazil", Marketing, ""},
		{"2025-07-01", "Mexico", Marketing, "0.0436"},
		{"2025-07-01", "North America", Marketing, "0.025"},
		{"2025-07-01", "Other", Authentication, "0.0077"},
		{"2025-07-01", "Other", Service, ""},
		{"2025-10-01", "Mexico", Marketing, ""},
		{"2025-12-31", "India", Marketing, "0.0107"},
		{"2026-01-01", "India", Marketing, ""},
		{"2026-01-01", "Brazil", Utility, "0.0068"},
		{"2026-11-22", "Rest of Latin America", Marketing, "0.074"},
		{"2026-11-22", "Kazakhstan", Marketing, ""},
	}
	for _, tt := range tests {
		got := ""
		if c := s.Find("USD", tt.day); c != nil {
			if r, _, ok := c.Rate(tt.market, tt.cat, 0); ok {
				got = r.String()
			}
		}
		if got != tt.want {
			t.Errorf("%s %s %s = %q, want %q", tt.day, tt.market, tt.cat, got, tt.want)
		}
	}
}
