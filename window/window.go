// Package window is the customer service window clock of one business number ×
// user pair: pure state and rules, no I/O.
//
// The clock is a function of the set of facts recorded, not of their arrival order:
// the window at time t is decided by the latest user message or call at or before
// t (Meta's timestamps), so a late, older message never moves the clock back and a
// newer one recorded before an older status does not hide what the window was
// when that status happened. To answer for past times the pair keeps its recent
// user activity (bounded); older history is dropped.
//
// Times are Unix nanoseconds.
package window

import (
	"slices"
	"time"
)

const (
	// CSW is the length of the customer service window opened by a user message or call.
	CSW = int64(24 * time.Hour)
	// FEPEligibility is how long after an entry-point message a business message must
	// be delivered to open a free entry point window.
	FEPEligibility = int64(24 * time.Hour)
	// ConversationLength is how long a conversation lasts under conversation-based
	// pricing: "fixed 24-hour sessions" from the delivery that opened it
	// (whatsapp-rules.md §3.4 and §3.5, CONFIRMED).
	ConversationLength = int64(24 * time.Hour)

	// Bounds of the kept history. MaxActivity user messages cover any realistic
	// reordering of webhooks (a status arriving after 64 newer user messages is
	// decided as if the older ones did not exist).
	MaxActivity      = 64
	MaxClosures      = 16
	MaxEntryPoints   = 16
	MaxFEPWindows    = 8
	MaxConversations = 32
)

// Pair is the clock of one pair. The zero value is a pair with no history.
type Pair struct {
	Activity      []int64        // user messages and calls, ascending, distinct
	Closures      []int64        // 131047 force-closes, ascending, distinct
	EntryPoints   []EntryPoint   // entry-point user messages, ascending
	FEPWindows    []Interval     // free entry point windows, ascending by start
	Conversations []Conversation // conversation-based pricing, ascending by start
}

// EntryPoint is a user message that came through a free entry point.
type EntryPoint struct {
	At   int64
	Kind int32 // convstate.v1.EntryPoint
	Used bool  // a free entry point window was opened from it
}

// Interval is the time range [Start, End).
type Interval struct{ Start, End int64 }

// Contains reports whether t is in [Start, End).
func (i Interval) Contains(t int64) bool { return i.Start <= t && t < i.End }

// Conversation is a conversation under conversation-based pricing. Category and
// PricingType are pricing's values; the clock only keeps them.
type Conversation struct {
	Category    int32
	Start, End  int64
	PricingType int32
	Rules       string // the rule set it was opened under
}

// Reason is why the window is open or closed at a time.
type Reason int

// Reasons, numbered like convstate.v1.DecisionReason.
const (
	Open        Reason = 1 // open beyond the safety margin
	Closing     Reason = 2 // open on Meta's clock, but within the safety margin
	Expired     Reason = 3 // 24 h passed since the last user activity
	NoActivity  Reason = 4 // no user activity at or before the time
	ForceClosed Reason = 5 // Meta rejected a free-form message with 131047
)

// Window is the customer service window as seen at one time.
type Window struct {
	Open         bool  // open on Meta's clock at the time asked
	LastActivity int64 // latest user activity at or before the time; 0 if none
	ExpiresAt    int64 // when it closes (or closed); 0 if there never was a window
	Reason       Reason
}

// insertSorted adds t to an ascending slice of distinct values, keeping the newest max.
func insertSorted(s []int64, t int64, max int) []int64 {
	i, found := slices.BinarySearch(s, t)
	if found {
		return s
	}
	s = slices.Insert(s, i, t)
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return s
}

// moveSorted replaces from with to in an ascending slice, keeping the newest max.
func moveSorted(s []int64, from, to int64, max int) []int64 {
	if i, found := slices.BinarySearch(s, from); found {
		s = slices.Delete(s, i, i+1)
	}
	return insertSorted(s, to, max)
}

// AddActivity records a user message or call at t.
func (p *Pair) AddActivity(t int64) { p.Activity = insertSorted(p.Activity, t, MaxActivity) }

// MoveActivity moves the user activity recorded at from to to (an earlier event of
// the same call). Another activity at the very same instant would go with it, which
// can only shorten the window.
func (p *Pair) MoveActivity(from, to int64) {
	p.Activity = moveSorted(p.Activity, from, to, MaxActivity)
}

// AddClosure records a 131047 force-close at t: the window is closed from t until a
// user message or call after t.
func (p *Pair) AddClosure(t int64) { p.Closures = insertSorted(p.Closures, t, MaxClosures) }

// MoveClosure moves the force-close recorded at from to to (a rejected message whose
// send was recorded after its failed status).
func (p *Pair) MoveClosure(from, to int64) {
	p.Closures = moveSorted(p.Closures, from, to, MaxClosures)
}

// lastAtOrBefore returns the largest element of an ascending slice that is <= t.
func lastAtOrBefore(s []int64, t int64) (int64, bool) {
	i, found := slices.BinarySearch(s, t)
	if found {
		return s[i], true
	}
	if i == 0 {
		return 0, false
	}
	return s[i-1], true
}

// firstAtOrAfter returns the smallest element of an ascending slice that is >= t.
func firstAtOrAfter(s []int64, t int64) (int64, bool) {
	i, _ := slices.BinarySearch(s, t)
	if i == len(s) {
		return 0, false
	}
	return s[i], true
}

// At returns the window at time t (on Meta's clock, without safety margin).
func (p *Pair) At(t int64) Window {
	u, ok := lastAtOrBefore(p.Activity, t)
	if !ok {
		return Window{Reason: NoActivity}
	}
	w := Window{LastActivity: u, ExpiresAt: u + CSW}
	// A force-close between the last activity and t closes the window; a user
	// message at the very instant of the close does not reopen it. A close at or
	// after the window's natural end (a message rejected once it had expired)
	// changes nothing: the window had expired.
	if c, ok := firstAtOrAfter(p.Closures, u); ok && c < w.ExpiresAt {
		w.ExpiresAt = c
		if c <= t {
			w.Reason = ForceClosed
			return w
		}
	}
	if t < w.ExpiresAt {
		w.Open = true
		w.Reason = Open
		return w
	}
	w.Reason = Expired
	return w
}

// Latest returns the window after all recorded activity: the latest expiry.
func (p *Pair) Latest() Window {
	if len(p.Activity) == 0 {
		return Window{Reason: NoActivity}
	}
	u := p.Activity[len(p.Activity)-1]
	w := Window{LastActivity: u, ExpiresAt: u + CSW, Open: true, Reason: Open}
	if c, ok := firstAtOrAfter(p.Closures, u); ok && c < w.ExpiresAt {
		w.ExpiresAt, w.Open, w.Reason = c, false, ForceClosed
	}
	return w
}

// Decision applies the safety margin: free-form messages are allowed at t only if
// the window is open and stays open for at least margin.
func (w Window) Decision(t, margin int64) (allowed bool, sendBefore int64, reason Reason) {
	if w.ExpiresAt != 0 {
		sendBefore = w.ExpiresAt - margin
	}
	if !w.Open {
		return false, sendBefore, w.Reason
	}
	if t < sendBefore {
		return true, sendBefore, Open
	}
	return false, sendBefore, Closing
}

// LastClosure returns the latest force-close, if any.
func (p *Pair) LastClosure() (int64, bool) {
	if len(p.Closures) == 0 {
		return 0, false
	}
	return p.Closures[len(p.Closures)-1], true
}
