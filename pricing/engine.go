package pricing

import (
	"fmt"
	"math"

	"github.com/convstate/convstate/window"
)

// Engine rates delivered messages. It is pure: the caller gives it the pair's clock
// and the month's counters and applies the returned Effects in the same transaction.
type Engine struct {
	Cards *CardSet
	// ServiceAllowance is the free service (free-form) messages a month per business
	// number under the 2026-10-01 rules. Reported by secondary sources only (not
	// confirmed by Meta), hence a setting; default DefaultServiceAllowance.
	ServiceAllowance int64
}

// DefaultServiceAllowance is the reported 2026-10-01 monthly free service allowance.
const DefaultServiceAllowance = 1000

// Input is a business message as delivered.
type Input struct {
	At       int64    // delivery (or read) time, Unix nanoseconds
	Day      string   // business-local date of At, "YYYY-MM-DD"
	Month    string   // business-local month of At, "YYYY-MM"
	Currency string   // the business's billing currency
	Region   string   // the recipient's ISO region
	Template Category // Marketing, Utility, Authentication, AuthenticationInternational; CategoryUnspecified = free-form
	// AuthIntlEligible: the business's authentication-international eligibility had
	// started by At. PrimaryCountry is its primary location ("" = unknown).
	AuthIntlEligible bool
	PrimaryCountry   string
	// Explain asks for Charge.Explanation (a formatted sentence: recorded charges
	// keep one; quotes on the hot path go without unless asked).
	Explain bool
}

// CounterKind names a monthly counter the engine reads and increments.
type CounterKind string

// Counters: the caller scopes each to the right id (see the comments) and month.
const (
	// CountTier counts charged messages (or conversations) per portfolio × market ×
	// category: the volume tier position.
	CountTier CounterKind = "tier"
	// CountCBPFree counts free-tier conversations per WABA (2022 and 2023 rules).
	CountCBPFree CounterKind = "cbp-free"
	// CountService counts service messages per business number (2026 rules).
	CountService CounterKind = "service"
)

// Counts reads the month's counters.
type Counts interface {
	Count(kind CounterKind, market string, cat Category) (int64, error)
}

// Increment is one counter to add 1 to once the charge is recorded.
type Increment struct {
	Kind     CounterKind
	Market   string
	Category Category
}

// Charge is the rating of one message.
type Charge struct {
	Amount             Nanos
	RateUnknown        bool
	Currency           string
	Market             string // as the rate card spells it
	Category           Category
	Type               PricingType
	Model              Model
	Rules              Rules
	Tier               int64
	RateCard           string // effective date of the card used; "" if none
	ConversationOpened bool
	ConversationEnd    int64 // end of the conversation the message is in (CBP)
	Explanation        string
}

// Effects are the state changes a delivery causes.
type Effects struct {
	Increments []Increment
	// OpenFEP opens a free entry point window of this length at Input.At.
	OpenFEP int64
	// OpenConversation is a conversation to add to the pair (CBP).
	OpenConversation *window.Conversation
	// CloseConversations ends the rule set's open conversations at Input.At (a free
	// entry point window closes them under the 2023 rules).
	CloseConversations bool
	// Backdate is a conversation a later delivery opened that this earlier one
	// joins (its status arrived late): its start moves to Input.At.
	Backdate *window.Conversation
	// ReplaceFEP is a free entry point window a later delivery opened that the
	// window OpenFEP opens at Input.At replaces (this delivery's status arrived late).
	ReplaceFEP *window.Interval
}

// Apply applies the clock changes of e to p (counters are the caller's).
func (e Effects) Apply(p *window.Pair, at int64, rules Rules) {
	if e.CloseConversations {
		p.CloseConversations(at, string(rules))
	}
	if e.ReplaceFEP != nil {
		p.RemoveFEP(*e.ReplaceFEP)
	}
	if e.OpenFEP > 0 {
		p.OpenFEP(at, e.OpenFEP)
	}
	if e.OpenConversation != nil {
		p.AddConversation(*e.OpenConversation)
	}
	if e.Backdate != nil {
		p.Backdate(*e.Backdate, at)
		if PricingType(e.Backdate.PricingType) == FreeEntryPoint {
			p.MoveFEP(e.Backdate.Start, at) // the free conversation is the window (2022 rules)
		}
	}
}

// rater holds what every era needs while rating one message.
type rater struct {
	in     Input
	pair   *window.Pair
	counts Counts
	card   *Card
	market string // canonical
	rules  Rules
	c      Charge
	eff    Effects
}

// Price rates a message delivered at in.At given the pair's clock (not modified).
func (e *Engine) Price(in Input, pair *window.Pair, counts Counts) (Charge, Effects, error) {
	rules := RulesOn(in.Day)
	r := &rater{in: in, pair: pair, counts: counts, rules: rules}
	if e.Cards != nil {
		r.card = e.Cards.Find(in.Currency, in.Day)
	}
	r.market = marketFor(in.Region, in.Day, r.card)
	r.c = Charge{Currency: in.Currency, Market: r.market, Model: rules.Model(), Rules: rules}
	if r.card != nil {
		r.c.Market = r.card.DisplayName(r.market)
	}
	var err error
	switch rules {
	case Rules2018:
		err = r.rate2018()
	case Rules2022:
		err = r.rate2022()
	case Rules2023:
		err = r.rate2023()
	default:
		err = r.ratePerMessage(e.allowance())
	}
	if err != nil {
		return Charge{}, Effects{}, err
	}
	if in.Explain && r.c.Explanation == "" {
		r.c.Explanation = r.explain()
	}
	return r.c, r.eff, nil
}

func (e *Engine) allowance() int64 {
	if e.ServiceAllowance < 0 {
		return 0
	}
	return e.ServiceAllowance
}

// marketFor picks the first of the region's markets that the card prices (markets
// that split off on a date exist for pricing once Meta's card lists them), else
// the broadest one.
func marketFor(region, day string, card *Card) string {
	ms := Markets(region, day)
	if card != nil {
		for _, m := range ms {
			if card.Prices(m) {
				return m
			}
		}
	}
	return ms[len(ms)-1]
}

func (r *rater) freeForm() bool { return r.in.Template == CategoryUnspecified }

// free sets a zero charge of the given category and type.
func (r *rater) free(cat Category, t PricingType) {
	r.c.Category, r.c.Type, r.c.Amount = cat, t, 0
}

// charge prices one charged message (or conversation) of cat at the tier the month
// has reached, and counts it for the tier.
func (r *rater) charge(cat Category) error {
	r.c.Category, r.c.Type = cat, Regular
	var n int64
	if r.card != nil && r.card.Tiered(r.market, cat) { // the count only matters with tiers
		var err error
		if n, err = r.counts.Count(CountTier, r.market, cat); err != nil {
			return err
		}
	}
	r.eff.Increments = append(r.eff.Increments, Increment{Kind: CountTier, Market: r.market, Category: cat})
	r.chargeAt(cat, n)
	return nil
}

// chargeAt sets the amount of the n-th charged message of cat this month.
func (r *rater) chargeAt(cat Category, n int64) {
	if r.card == nil {
		r.c.RateUnknown = true
		return
	}
	r.c.RateCard = r.card.EffectiveFrom
	rate, tier, ok := r.card.Rate(r.market, cat, n)
	if !ok {
		r.c.RateUnknown = true
		return
	}
	r.c.Amount, r.c.Tier = rate, tier
}

// fep handles free entry points for the eras that have them: the first delivery
// after an entry-point message opens a window (consuming the entry point, even if
// an earlier window is still open), and a message inside an open window is free.
func (r *rater) fep(cat Category) bool {
	if r.fepOpens(cat) {
		return true
	}
	length := r.rules.FEPLength(r.in.Day)
	if length == 0 {
		return false
	}
	// A delivery whose status arrived after that of a later delivery, which used the
	// entry point: in delivery order this one opened the window (as joinLater does for
	// conversations), also when an older window was still open.
	replace, late := r.pair.LateFEP(r.in.At)
	if _, open := r.pair.FEPAt(r.in.At); open && replace == nil {
		r.free(cat, FreeEntryPoint)
		return true
	}
	if late {
		r.free(cat, FreeEntryPoint)
		r.eff.OpenFEP, r.eff.ReplaceFEP = length, replace
		return true
	}
	return false
}

// fepOpens handles the first delivery after an entry-point message: it opens a free
// entry point window (consuming the entry point, even if an earlier window is open).
func (r *rater) fepOpens(cat Category) bool {
	length := r.rules.FEPLength(r.in.Day)
	if length == 0 || !r.pair.FEPEligible(r.in.At) {
		return false
	}
	r.free(cat, FreeEntryPoint)
	r.eff.OpenFEP = length
	return true
}

// templateCategory is the category a template is rated in under the 2023 rules and
// later: authentication is rated authentication-international when the message is
// one (explicitly, or the business is eligible and the recipient abroad) and the
// card has such a rate for the market; elsewhere the authentication rate applies.
func (r *rater) templateCategory() Category {
	t := r.in.Template
	if t != Authentication && t != AuthenticationInternational {
		return t
	}
	intl := t == AuthenticationInternational ||
		(r.in.AuthIntlEligible && (r.in.PrimaryCountry == "" || r.in.PrimaryCountry != r.in.Region))
	if intl && r.in.Day >= authIntlFrom && r.card != nil {
		if _, _, ok := r.card.Rate(r.market, AuthenticationInternational, math.MaxInt64); ok {
			return AuthenticationInternational
		}
	}
	return Authentication
}

// rate2018: per delivered template, by market; free-form messages are free.
func (r *rater) rate2018() error {
	if r.freeForm() {
		r.free(Service, FreeCustomerService)
		return nil
	}
	return r.charge(Template)
}

// rate2022: one 24 h conversation at a time, opened by the first delivered business
// message: user-initiated inside the customer service window, else
// business-initiated; the first after an entry-point message is free; 1,000 free
// conversations a month per WABA.
func (r *rater) rate2022() error {
	// From fepWindowFrom a free entry point is a 72 h window, as under the 2023 rules:
	// everything in it is free, and it closes the open conversations.
	if r.in.Day >= fepWindowFrom && r.fep(UserInitiated) {
		if r.eff.OpenFEP > 0 {
			r.eff.CloseConversations = true
		}
		return nil
	}
	if open := r.pair.ConversationsAt(r.in.At, string(r.rules)); len(open) > 0 {
		r.inConversation(open[len(open)-1])
		return nil
	}
	if r.joinLater(-1) {
		return nil
	}
	conv := &window.Conversation{Start: r.in.At, End: r.in.At + 24*hour, Rules: string(r.rules)}
	r.eff.OpenConversation = conv
	r.c.ConversationOpened, r.c.ConversationEnd = true, conv.End
	if r.fepOpens(UserInitiated) {
		// The free entry point conversation is this conversation (24 h): only the first
		// is free, so a window left open by it is no reason for another.
		conv.Category, conv.PricingType = int32(UserInitiated), int32(FreeEntryPoint)
		return nil
	}
	cat := BusinessInitiated
	if r.pair.At(r.in.At).Open {
		cat = UserInitiated
	}
	conv.Category = int32(cat)
	if err := r.freeTierOr(cat); err != nil {
		return err
	}
	conv.PricingType = int32(r.c.Type)
	return nil
}

// freeTierOr rates a new conversation of cat: free while the WABA's monthly free
// tier lasts, charged after.
func (r *rater) freeTierOr(cat Category) error {
	n, err := r.counts.Count(CountCBPFree, "", CategoryUnspecified)
	if err != nil {
		return err
	}
	if n < CBPFreeTier {
		r.free(cat, FreeTier)
		r.eff.Increments = append(r.eff.Increments, Increment{Kind: CountCBPFree})
		return nil
	}
	return r.charge(cat)
}

// joinLater handles a delivery whose status arrived after that of a later
// delivery which opened (and paid for) a conversation starting within 24 h of this
// one: in delivery order this message opened it, so it belongs to it and the
// conversation is not charged twice.
func (r *rater) joinLater(cat int32) bool {
	c, ok := r.pair.LaterConversation(r.in.At, string(r.rules), cat)
	if !ok {
		return false
	}
	r.eff.Backdate = &c
	joined := c
	joined.End = min(c.End, r.in.At+window.ConversationLength) // as Backdate leaves it
	r.inConversation(joined)
	return true
}

// inConversation rates a message inside an open conversation: nothing more to pay;
// it carries the conversation's category and pricing type.
func (r *rater) inConversation(c window.Conversation) {
	r.free(Category(c.Category), PricingType(c.PricingType))
	r.c.ConversationEnd = c.End
}

// rate2023: conversations by category, several open at once. A template opens a
// conversation of its category unless one is open; a free-form message opens a
// service conversation only when no conversation is open. A free entry point
// window (72 h) makes everything free and closes the other conversations.
func (r *rater) rate2023() error {
	cat := Service
	if !r.freeForm() {
		cat = r.templateCategory()
	}
	if r.fep(cat) {
		if r.eff.OpenFEP > 0 {
			r.eff.CloseConversations = true
		}
		return nil
	}
	open := r.pair.ConversationsAt(r.in.At, string(r.rules))
	if r.freeForm() && len(open) > 0 {
		r.inConversation(pickForService(open))
		return nil
	}
	for i := len(open) - 1; i >= 0; i-- {
		if Category(open[i].Category) == cat {
			r.inConversation(open[i])
			return nil
		}
	}
	if r.joinLater(int32(cat)) {
		return nil
	}
	conv := &window.Conversation{Category: int32(cat), Start: r.in.At, End: r.in.At + 24*hour, Rules: string(r.rules)}
	r.eff.OpenConversation = conv
	r.c.ConversationOpened, r.c.ConversationEnd = true, conv.End
	switch {
	case cat == Service && r.in.Day >= serviceFreeFrom:
		r.free(Service, FreeCustomerService)
	case cat == Service:
		if err := r.freeTierOr(Service); err != nil {
			return err
		}
	default:
		if err := r.charge(cat); err != nil {
			return err
		}
	}
	conv.PricingType = int32(r.c.Type)
	return nil
}

// pickForService chooses the open conversation a free-form message belongs to: the
// service conversation if one is open, else the most recently opened.
func pickForService(open []window.Conversation) window.Conversation {
	for i := len(open) - 1; i >= 0; i-- {
		if Category(open[i].Category) == Service {
			return open[i]
		}
	}
	return open[len(open)-1]
}

// ratePerMessage: the 2025-07-01 and 2026-10-01 rules. Each delivered template is
// charged by category and market (graduated volume tiers where the card has them);
// inside a free entry point window everything is free. 2025 rules: free-form free,
// utility delivered inside the customer service window free. 2026 rules: utility
// charged everywhere; free-form (service) charged at the market's service rate
// (Meta: the utility rate, no tiers) after a monthly allowance per business number.
func (r *rater) ratePerMessage(allowance int64) error {
	cat := Service
	if !r.freeForm() {
		cat = r.templateCategory()
	}
	if r.fep(cat) {
		return nil
	}
	if r.rules == Rules2025 {
		switch {
		case r.freeForm():
			r.free(Service, FreeCustomerService)
			return nil
		case cat == Utility && r.pair.At(r.in.At).Open:
			r.free(Utility, FreeCustomerService)
			return nil
		}
		return r.charge(cat)
	}
	if !r.freeForm() {
		return r.charge(cat)
	}
	n, err := r.counts.Count(CountService, "", CategoryUnspecified)
	if err != nil {
		return err
	}
	r.eff.Increments = append(r.eff.Increments, Increment{Kind: CountService})
	if n < allowance {
		r.free(Service, FreeTier)
		return nil
	}
	r.c.Category, r.c.Type = Service, Regular
	if r.card == nil {
		r.c.RateUnknown = true
		return nil
	}
	r.c.RateCard = r.card.EffectiveFrom
	// Service has no volume tiers: the base rate, from a service row if the card has
	// one, else the utility base rate (Meta: "the utility rate of the market").
	rate, _, ok := r.card.Rate(r.market, Service, 0)
	if !ok {
		rate, _, ok = r.card.Rate(r.market, Utility, 0)
	}
	if !ok {
		r.c.RateUnknown = true
		return nil
	}
	r.c.Amount = rate
	return nil
}

const hour = int64(3600e9)

// explain writes the charge's explanation.
func (r *rater) explain() string {
	c := &r.c
	what := "free-form message"
	if !r.freeForm() {
		what = r.in.Template.String() + " template"
	}
	rules := fmt.Sprintf("%s rules (%s)", c.Rules, c.Model)
	var why string
	switch c.Type {
	case FreeEntryPoint:
		why = "free: inside a free entry point window"
	case FreeCustomerService:
		why = "free: customer service"
		if c.Category == Utility {
			why = "free: utility template delivered inside the customer service window"
		}
	case FreeTier:
		why = "free: within the monthly free tier"
	case Regular:
		switch {
		case c.ConversationEnd != 0 && !c.ConversationOpened:
			why = "nothing more: inside an open " + c.Category.String() + " conversation"
		case c.RateUnknown && r.card == nil:
			why = fmt.Sprintf("rate unknown: no %s rate card in force on %s", r.in.Currency, r.in.Day)
		case c.RateUnknown:
			why = fmt.Sprintf("rate unknown: the %s %s card has no %s rate for %s", c.RateCard, c.Currency, c.Category, c.Market)
		default:
			why = fmt.Sprintf("%s %s at the %s rate for %s (card %s, tier from %d)", c.Amount, c.Currency, c.Category, c.Market, c.RateCard, c.Tier)
		}
	}
	if c.ConversationOpened {
		why += "; opened a " + c.Category.String() + " conversation"
	}
	return fmt.Sprintf("%s to %s delivered on %s under the %s: %s", what, c.Market, r.in.Day, rules, why)
}

// USMarketingPaused reports whether marketing templates to a recipient in region
// are not delivered on day (US numbers since 2025-04-01, error 131049).
func USMarketingPaused(region, day string, template Category) bool {
	return template == Marketing && IsUSNumber(region) && day >= usMarketingPauseFrom
}
