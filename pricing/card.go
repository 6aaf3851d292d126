package pricing

import (
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Card is one effective-dated rate card in one billing currency. Meta
// publishes complete cards, so a card in force replaces its predecessor
// entirely: a (market, category) missing from it has no known rate, even if
// an older card had one. Cards are immutable after parsing and safe for
// concurrent use.
type Card struct {
	EffectiveFrom string // "2025-07-01", 00:00 in the business's time zone
	Currency      string // "USD"
	Source        string // file name, or "embedded:<file>"

	tiers   map[rateKey][]tier // sorted by tierFrom
	markets map[string]bool    // markets with at least one row
	display map[string]string  // canonical market -> spelling in the source
}

type rateKey struct {
	market string
	cat    Category
}

type tier struct {
	from int64
	rate Nanos
}

// Row is one rate of a card, for listing.
type Row struct {
	Market   string // canonical name (or as written, if not a known market)
	Category Category
	TierFrom int64 // first 0-based monthly message count the rate applies to
	Rate     Nanos
}

// Rate returns the rate for the n-th charged message this month, where n is
// the number of messages of this market × category already charged this
// month (0-based). Volume tiers are graduated, not retroactive
// (whatsapp-rules.md §3.6), so the rate is the row with the largest
// tier_from <= n. A negative n is treated as 0. ok is false when the card
// has no such row: the rate is unknown, which is not the same as free.
func (c *Card) Rate(market string, cat Category, n int64) (rate Nanos, tierFrom int64, ok bool) {
	ts := c.tiers[rateKey{market, cat}]
	n = max(n, 0)
	// First tier starting after n; the one before it applies.
	i := sort.Search(len(ts), func(i int) bool { return ts[i].from > n })
	if i == 0 {
		return 0, 0, false
	}
	return ts[i-1].rate, ts[i-1].from, true
}

// Prices reports whether the card has any row for market (canonical name);
// the engine uses it to choose between a specific and a fallback market.
func (c *Card) Prices(market string) bool { return c.markets[market] }

// Tiered reports whether the card has volume tiers (a tier_from above 0) for
// market × cat, i.e. whether the month's count changes the rate.
func (c *Card) Tiered(market string, cat Category) bool {
	ts := c.tiers[rateKey{market, cat}]
	return len(ts) > 1 || (len(ts) == 1 && ts[0].from != 0)
}

// DisplayName returns the market name as this card spells it (e.g. "UAE"
// if the CSV said so), or market itself, so listings echo the operator's
// file.
func (c *Card) DisplayName(market string) string {
	if d, ok := c.display[market]; ok {
		return d
	}
	return market
}

// Rows returns every rate of the card sorted by market, category and tier.
func (c *Card) Rows() []Row {
	var rows []Row
	for k, ts := range c.tiers {
		for _, t := range ts {
			rows = append(rows, Row{Market: k.market, Category: k.cat, TierFrom: t.from, Rate: t.rate})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Market != b.Market {
			return a.Market < b.Market
		}
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		return a.TierFrom < b.TierFrom
	})
	return rows
}

// Warning is a problem in a rate-card file that does not stop it loading.
type Warning struct {
	Source string
	Line   int
	Msg    string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.Source, w.Line, w.Msg) }

// cardHeader is the optional first line of a rate-card CSV.
var cardHeader = []string{"effective_from", "currency", "market", "category", "tier_from", "rate"}

// ParseCards reads rate-card CSV rows "effective_from,currency,market,
// category,tier_from,rate" (design.md §2) from r. source names r in errors
// and warnings ("rates.csv:12: ..."). All rows sharing (effective_from,
// currency) form one complete card; the cards are returned sorted by
// currency, then date.
//
// Lines starting with "#" and blank lines are ignored; fields are trimmed.
// An unknown market is kept under its name as written (it never matches a
// recipient) with a warning, so a new Meta market does not stop a card from
// loading; an unknown category drops the row with a warning; a rate of ""
// or "n/a" (Meta's CSV marks markets without a rate that way) drops the row
// silently. Everything else that is malformed, and a repeated (date,
// currency, market, category, tier_from), is an error.
func ParseCards(r io.Reader, source string) ([]*Card, []Warning, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = len(cardHeader)
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	type cardKey struct{ date, currency string }
	type rowKey struct {
		card cardKey
		rateKey
		from int64
	}
	cards := map[cardKey]*Card{}
	firstLine := map[rowKey]int{}
	warnedMarket := map[string]bool{}
	var warnings []Warning
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					return nil, nil, fmt.Errorf("%s:%d: want %d fields (%s)", source, pe.Line, len(cardHeader), strings.Join(cardHeader, ","))
				}
				return nil, nil, fmt.Errorf("%s:%d: %v", source, pe.Line, pe.Err)
			}
			return nil, nil, fmt.Errorf("%s: %w", source, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first && slices.Equal(rec, cardHeader) {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", source, line, fmt.Sprintf(format, args...))
		}
		date, currency, marketName, catName, tierText, rateText := rec[0], strings.ToUpper(rec[1]), rec[2], rec[3], rec[4], rec[5]

		if t, err := time.Parse(time.DateOnly, date); err != nil || t.Format(time.DateOnly) != date {
			return nil, nil, fail("effective_from %q is not a date (YYYY-MM-DD)", date)
		}
		if len(currency) != 3 || strings.IndexFunc(currency, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
			return nil, nil, fail("currency %q is not a 3-letter ISO 4217 code", rec[1])
		}
		if marketName == "" {
			return nil, nil, fail("market is empty")
		}
		if tierText == "" || !allDigits(tierText) {
			return nil, nil, fail("tier_from %q is not a non-negative integer", tierText)
		}
		from, err := strconv.ParseInt(tierText, 10, 64)
		if err != nil {
			return nil, nil, fail("tier_from %q is too large", tierText)
		}
		if rateText == "" || strings.EqualFold(rateText, "n/a") {
			continue
		}
		rate, err := ParseAmount(rateText)
		if err != nil {
			return nil, nil, fail("rate: %v", err)
		}
		cat, ok := ParseCategory(catName)
		if !ok {
			warnings = append(warnings, Warning{source, line, fmt.Sprintf("unknown category %q: row skipped", catName)})
			continue
		}

		market, known := CanonicalMarket(marketName)
		if !known {
			market = marketName
			if !warnedMarket[market] {
				warnedMarket[market] = true
				warnings = append(warnings, Warning{source, line, fmt.Sprintf("unknown market %q: rows kept but no recipient maps to it", marketName)})
			}
		}
		ck := cardKey{date, currency}
		rk := rowKey{ck, rateKey{market, cat}, from}
		if prev, dup := firstLine[rk]; dup {
			return nil, nil, fail("duplicate rate for %s %s %s %s tier_from %d (first at line %d)", date, currency, market, cat, from, prev)
		}
		firstLine[rk] = line

		c := cards[ck]
		if c == nil {
			c = &Card{EffectiveFrom: date, Currency: currency, Source: source,
				tiers: map[rateKey][]tier{}, markets: map[string]bool{}, display: map[string]string{}}
			cards[ck] = c
		}
		c.tiers[rk.rateKey] = append(c.tiers[rk.rateKey], tier{from, rate})
		c.markets[market] = true
		if _, ok := c.display[market]; !ok && marketName != market {
			c.display[market] = marketName
		}
	}

	out := make([]*Card, 0, len(cards))
	for _, c := range cards {
		for _, ts := range c.tiers {
			sort.Slice(ts, func(i, j int) bool { return ts[i].from < ts[j].from })
		}
		out = append(out, c)
	}
	sortCards(out)
	return out, warnings, nil
}

func sortCards(cs []*Card) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Currency != cs[j].Currency {
			return cs[i].Currency < cs[j].Currency
		}
		return cs[i].EffectiveFrom < cs[j].EffectiveFrom
	})
}

// CardSet holds rate cards by currency. Add replaces a card with the same
// (EffectiveFrom, Currency), so operator files loaded after Embedded()
// override the compiled-in cards, and otherwise extends the set. It is safe
// for concurrent use.
type CardSet struct {
	mu    sync.RWMutex
	cards map[string][]*Card // by currency, sorted by EffectiveFrom
}

// NewCardSet returns an empty set.
func NewCardSet() *CardSet { return &CardSet{cards: map[string][]*Card{}} }

// Add adds cards, replacing any with the same (EffectiveFrom, Currency).
func (s *CardSet) Add(cards ...*Card) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cards {
		list := s.cards[c.Currency]
		i := sort.Search(len(list), func(i int) bool { return list[i].EffectiveFrom >= c.EffectiveFrom })
		if i < len(list) && list[i].EffectiveFrom == c.EffectiveFrom {
			list[i] = c
			continue
		}
		list = append(list, nil)
		copy(list[i+1:], list[i:])
		list[i] = c
		s.cards[c.Currency] = list
	}
}

// Find returns the card in force on day ("YYYY-MM-DD") for currency: the one
// with the latest EffectiveFrom <= day, or nil if there is none (the rate is
// unknown; Meta's cards are per currency, never FX conversions [S1][S11]).
func (s *CardSet) Find(currency, day string) *Card {
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.cards[strings.ToUpper(currency)]
	i := sort.Search(len(list), func(i int) bool { return list[i].EffectiveFrom > day })
	if i == 0 {
		return nil
	}
	return list[i-1]
}

// Cards returns all cards sorted by currency, then date.
func (s *CardSet) Cards() []*Card {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Card
	for _, list := range s.cards {
		out = append(out, list...)
	}
	sortCards(out)
	return out
}

//go:embed cards/*.csv
var embeddedFS embed.FS

// embedded parses the compiled-in cards once; the cards are immutable, so
// every caller can share them.
var embedded = sync.OnceValues(func() ([]*Card, error) {
	cards, _, err := parseEmbedded()
	return cards, err
})

// parseEmbedded parses pricing/cards/*.csv; a (date, currency) defined in
// two files is an error, since one would silently replace the other.
func parseEmbedded() ([]*Card, []Warning, error) {
	files, err := embeddedFS.ReadDir("cards")
	if err != nil {
		return nil, nil, err
	}
	var all []*Card
	var warnings []Warning
	seen := map[[2]string]string{}
	for _, f := range files { // ReadDir sorts by name
		name := f.Name()
		if path.Ext(name) != ".csv" {
			continue
		}
		data, err := embeddedFS.ReadFile("cards/" + name)
		if err != nil {
			return nil, nil, err
		}
		cards, ws, err := ParseCards(strings.NewReader(string(data)), "embedded:"+name)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cards {
			k := [2]string{c.EffectiveFrom, c.Currency}
			if other, dup := seen[k]; dup {
				return nil, nil, fmt.Errorf("card %s %s is in both %s and %s", c.Currency, c.EffectiveFrom, other, c.Source)
			}
			seen[k] = c.Source
		}
		all = append(all, cards...)
		warnings = append(warnings, ws...)
	}
	sortCards(all)
	return all, warnings, nil
}

// Embedded returns the cards compiled into the binary (pricing/cards/*.csv,
// documented in pricing/cards/SOURCES.md), sorted by currency, then date.
// It panics only if the embedded data is malformed, which a test rules out.
func Embedded() []*Card {
	cards, err := embedded()
	if err != nil {
		panic("pricing: embedded rate cards: " + err.Error())
	}
	return append([]*Card(nil), cards...)
}
