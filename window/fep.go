package window

import (
	"cmp"
	"math"
	"slices"
)

// AddEntryPoint records a user message at t that came through a free entry point
// (Click-to-WhatsApp ad or Facebook Page CTA). It makes the pair eligible: the
// first business message delivered within FEPEligibility opens a free window. One
// recorded late, after a window opened at or after t, was used by that window's
// delivery (OpenFEP uses every entry point before it); a delivery between them,
// decided again, moves that window to itself (LateFEP).
func (p *Pair) AddEntryPoint(t int64, kind int32) {
	i, found := slices.BinarySearchFunc(p.EntryPoints, t, func(e EntryPoint, t int64) int { return cmp.Compare(e.At, t) })
	if found {
		return
	}
	used := len(p.FEPWindows) > 0 && p.FEPWindows[len(p.FEPWindows)-1].Start >= t
	p.EntryPoints = slices.Insert(p.EntryPoints, i, EntryPoint{At: t, Kind: kind, Used: used})
	if len(p.EntryPoints) > MaxEntryPoints {
		p.EntryPoints = p.EntryPoints[len(p.EntryPoints)-MaxEntryPoints:]
	}
}

// FEPAt returns the free entry point window open at t, if any.
func (p *Pair) FEPAt(t int64) (Interval, bool) {
	for i := len(p.FEPWindows) - 1; i >= 0; i-- {
		if w := p.FEPWindows[i]; w.Contains(t) {
			return w, true
		}
	}
	return Interval{}, false
}

// FEPEligible reports whether a business message delivered at t would open a free
// entry point window: an unused entry-point message in (t - FEPEligibility, t].
// This holds even while an earlier window is open: the first business message
// delivered after a new entry-point message opens a window from its delivery
// (design.md §2 rule 5), which may outlast the open one.
func (p *Pair) FEPEligible(t int64) bool {
	lo, hi := p.eligibleAt(t)
	return slices.ContainsFunc(p.EntryPoints[lo:hi], unused)
}

func unused(e EntryPoint) bool { return !e.Used }

// eligibleAt returns the entry points that make a delivery at t eligible, used or
// not: p.EntryPoints[lo:hi], those in (t - FEPEligibility, t].
func (p *Pair) eligibleAt(t int64) (lo, hi int) {
	after := func(x int64) int { // the first entry point later than x
		i, _ := slices.BinarySearchFunc(p.EntryPoints, x, func(e EntryPoint, x int64) int {
			if e.At <= x {
				return -1
			}
			return 1
		})
		return i
	}
	return after(t - FEPEligibility), after(t)
}

// EligibleUntil returns when the latest unused entry-point message stops making
// the pair eligible (0 if none).
func (p *Pair) EligibleUntil() int64 {
	for i := len(p.EntryPoints) - 1; i >= 0; i-- {
		if e := p.EntryPoints[i]; !e.Used {
			return e.At + FEPEligibility
		}
	}
	return 0
}

// OpenFEP opens a free entry point window [t, t+length) for a business message
// delivered at t, consuming every entry-point message at or before t (they have
// been answered). The caller checks FEPEligible first.
func (p *Pair) OpenFEP(t, length int64) Interval {
	for i := range p.EntryPoints {
		if p.EntryPoints[i].At <= t {
			p.EntryPoints[i].Used = true
		}
	}
	w := Interval{Start: t, End: t + length}
	i, _ := slices.BinarySearchFunc(p.FEPWindows, t, func(w Interval, t int64) int { return cmp.Compare(w.Start, t) })
	p.FEPWindows = slices.Insert(p.FEPWindows, i, w)
	if len(p.FEPWindows) > MaxFEPWindows {
		p.FEPWindows = p.FEPWindows[len(p.FEPWindows)-MaxFEPWindows:]
	}
	return w
}

// LateFEP handles a delivery at t, outside every free entry point window, whose
// status arrived after that of a later delivery: it reports whether an entry-point
// message made the pair eligible at t (in (t - FEPEligibility, t]) but a later
// delivery has since used it. In delivery order the message at t opened the window.
// replace is the window that later delivery opened, when it was within that entry
// point's eligibility: in delivery order it would never have opened, so the window
// from t takes its place (ok with replace unset: it was opened through a newer entry
// point, and stays).
func (p *Pair) LateFEP(t int64) (replace *Interval, ok bool) {
	lo, hi := p.eligibleAt(t)
	if lo == hi || slices.ContainsFunc(p.EntryPoints[lo:hi], unused) {
		return nil, false // none, or FEPEligible's case
	}
	e := p.EntryPoints[hi-1] // the latest, used by a later delivery
	if j := slices.IndexFunc(p.FEPWindows, func(w Interval) bool { return w.Start > t }); j >= 0 {
		w := p.FEPWindows[j]
		// A newer entry point at or before w's start made w's delivery eligible by
		// itself: in delivery order w opens too.
		newer := hi < len(p.EntryPoints) && p.EntryPoints[hi].At <= w.Start
		if w.Start-e.At < FEPEligibility && !newer {
			return &w, true
		}
	}
	return nil, true
}

// MoveFEP moves the start of the free entry point window that starts at from to to,
// keeping its length (the 2022 rules' free conversation, backdated).
func (p *Pair) MoveFEP(from, to int64) {
	for i, w := range p.FEPWindows {
		if w.Start == from {
			p.FEPWindows[i] = Interval{Start: to, End: to + (w.End - w.Start)}
			slices.SortStableFunc(p.FEPWindows, func(a, b Interval) int { return cmp.Compare(a.Start, b.Start) })
			return
		}
	}
}

// ReleaseFEP removes the free entry point window w, whose delivery is being decided
// again, and gives back the entry points it used: those after the window before it
// (OpenFEP used every one up to w's start; a later window was opened through newer
// ones). It reports whether it did: not when w is gone (a later delivery's status,
// decided since, replaced it: LateFEP), nor when the clock no longer keeps an entry
// point that made w's delivery eligible (MaxEntryPoints newer ones came since): decided
// again, it could not open w again, so w stays as history.
func (p *Pair) ReleaseFEP(w Interval) bool {
	i := slices.Index(p.FEPWindows, w)
	if lo, hi := p.eligibleAt(w.Start); i < 0 || lo == hi {
		return false
	}
	p.FEPWindows = slices.Delete(p.FEPWindows, i, i+1)
	prev := int64(math.MinInt64)
	if i > 0 {
		prev = p.FEPWindows[i-1].Start
	}
	for j := range p.EntryPoints {
		if e := &p.EntryPoints[j]; prev < e.At && e.At <= w.Start {
			e.Used = false
		}
	}
	return true
}

// RemoveFEP removes the free entry point window w.
func (p *Pair) RemoveFEP(w Interval) {
	if i := slices.Index(p.FEPWindows, w); i >= 0 {
		p.FEPWindows = slices.Delete(p.FEPWindows, i, i+1)
	}
}

// LatestFEP returns the most recently opened free entry point window, if any.
func (p *Pair) LatestFEP() (Interval, bool) {
	if len(p.FEPWindows) == 0 {
		return Interval{}, false
	}
	return p.FEPWindows[len(p.FEPWindows)-1], true
}

// ConversationsAt returns the conversations of a rule set open at t, oldest first.
func (p *Pair) ConversationsAt(t int64, rules string) []Conversation {
	var open []Conversation
	for _, c := range p.Conversations {
		if c.Rules == rules && c.Start <= t && t < c.End {
			open = append(open, c)
		}
	}
	return open
}

// AddConversation records a conversation opened under conversation-based pricing.
func (p *Pair) AddConversation(c Conversation) {
	i, _ := slices.BinarySearchFunc(p.Conversations, c.Start, func(x Conversation, t int64) int { return cmp.Compare(x.Start, t) })
	p.Conversations = slices.Insert(p.Conversations, i, c)
	if len(p.Conversations) > MaxConversations {
		p.Conversations = p.Conversations[len(p.Conversations)-MaxConversations:]
	}
}

// CloseConversations ends every conversation of a rule set open at t at t (a free
// entry point conversation closes the others under the 2023 rules).
func (p *Pair) CloseConversations(t int64, rules string) {
	for i := range p.Conversations {
		c := &p.Conversations[i]
		if c.Rules == rules && c.Start <= t && t < c.End {
			c.End = t
		}
	}
}

// LaterConversation returns a conversation of a rule set (of category cat, or of
// any category when cat < 0) that starts after t but within 24 h of it: one that a
// later delivery opened because this earlier delivery's status arrived late. In
// delivery order, t would have opened it.
func (p *Pair) LaterConversation(t int64, rules string, cat int32) (Conversation, bool) {
	for _, c := range p.Conversations {
		if c.Rules == rules && t < c.Start && c.Start < t+CSW && (cat < 0 || c.Category == cat) {
			return c, true
		}
	}
	return Conversation{}, false
}

// Backdate moves the start of conversation c to t (t < c.Start): in delivery order
// the message at t opened it. A conversation lasts ConversationLength from its
// start, so its end moves to t+ConversationLength too (or stays, if something
// closed it earlier). Messages already rated inside the part cut off stay as they
// were rated; Meta's pricing in their statuses shows them as discrepancies.
func (p *Pair) Backdate(c Conversation, t int64) {
	for i := range p.Conversations {
		x := &p.Conversations[i]
		if x.Rules == c.Rules && x.Category == c.Category && x.Start == c.Start {
			x.Start, x.End = t, min(x.End, t+ConversationLength)
			break
		}
	}
	slices.SortStableFunc(p.Conversations, func(a, b Conversation) int { return cmp.Compare(a.Start, b.Start) })
}
