package window

import (
	"testing"
	"time"
)

const hr = int64(time.Hour)

func TestAt(t *testing.T) {
	tests := []struct {
		name     string
		activity []int64
		closures []int64
		at       int64
		want     Window
	}{
		{"no activity", nil, nil, 5 * hr, Window{Reason: NoActivity}},
		{"before the first activity", []int64{10 * hr}, nil, 9 * hr, Window{Reason: NoActivity}},
		{"at the activity", []int64{10 * hr}, nil, 10 * hr, Window{Open: true, LastActivity: 10 * hr, ExpiresAt: 34 * hr, Reason: Open}},
		{"last instant", []int64{10 * hr}, nil, 34*hr - 1, Window{Open: true, LastActivity: 10 * hr, ExpiresAt: 34 * hr, Reason: Open}},
		{"expiry is exclusive", []int64{10 * hr}, nil, 34 * hr, Window{LastActivity: 10 * hr, ExpiresAt: 34 * hr, Reason: Expired}},
		{"latest activity at or before t decides", []int64{0, 10 * hr, 40 * hr}, nil, 20 * hr,
			Window{Open: true, LastActivity: 10 * hr, ExpiresAt: 34 * hr, Reason: Open}},
		{"gap between windows", []int64{0, 40 * hr}, nil, 30 * hr, Window{LastActivity: 0, ExpiresAt: 24 * hr, Reason: Expired}},
		{"force-closed", []int64{0}, []int64{2 * hr}, 3 * hr, Window{LastActivity: 0, ExpiresAt: 2 * hr, Reason: ForceClosed}},
		{"closed at the instant of a user message", []int64{2 * hr}, []int64{2 * hr}, 3 * hr, Window{LastActivity: 2 * hr, ExpiresAt: 2 * hr, Reason: ForceClosed}},
		{"a later close cuts the window short", []int64{0}, []int64{5 * hr}, 1 * hr, Window{Open: true, LastActivity: 0, ExpiresAt: 5 * hr, Reason: Open}},
		{"activity after the close reopens", []int64{0, 3 * hr}, []int64{2 * hr}, 4 * hr, Window{Open: true, LastActivity: 3 * hr, ExpiresAt: 27 * hr, Reason: Open}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pair{}
			for _, a := range tt.activity {
				p.AddActivity(a)
			}
			for _, c := range tt.closures {
				p.AddClosure(c)
			}
			if got := p.At(tt.at); got != tt.want {
				t.Errorf("At(%v h) = %+v, want %+v", float64(tt.at)/float64(hr), got, tt.want)
			}
		})
	}
}

func TestActivityOrderDoesNotMatter(t *testing.T) {
	orders := [][]int64{{0, 5 * hr, 9 * hr}, {9 * hr, 0, 5 * hr}, {5 * hr, 9 * hr, 0, 9 * hr}}
	var first *Pair
	for _, o := range orders {
		p := &Pair{}
		for _, a := range o {
			p.AddActivity(a)
		}
		if first == nil {
			first = p
			continue
		}
		for _, t0 := range []int64{-1, 0, 4 * hr, 6 * hr, 30 * hr, 33 * hr} {
			if a, b := first.At(t0), p.At(t0); a != b {
				t.Errorf("order %v: At(%d) = %+v, want %+v", o, t0, b, a)
			}
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	p := &Pair{}
	for i := range int64(MaxActivity + 10) {
		p.AddActivity(i * hr)
		p.AddClosure(i * hr)
		p.AddEntryPoint(i*hr, 1)
	}
	if len(p.Activity) != MaxActivity || len(p.Closures) != MaxClosures || len(p.EntryPoints) != MaxEntryPoints {
		t.Errorf("kept %d/%d/%d, want %d/%d/%d", len(p.Activity), len(p.Closures), len(p.EntryPoints), MaxActivity, MaxClosures, MaxEntryPoints)
	}
	if p.Activity[len(p.Activity)-1] != (MaxActivity+9)*hr {
		t.Errorf("the newest activity was dropped")
	}
}

func TestLatest(t *testing.T) {
	p := &Pair{}
	if w := p.Latest(); w.Reason != NoActivity {
		t.Errorf("empty pair: %+v", w)
	}
	p.AddActivity(5 * hr)
	p.AddActivity(1 * hr)
	if w := p.Latest(); w.ExpiresAt != 29*hr || !w.Open {
		t.Errorf("Latest = %+v, want expiry 29h", w)
	}
	p.AddClosure(6 * hr)
	if w := p.Latest(); w.ExpiresAt != 6*hr || w.Open || w.Reason != ForceClosed {
		t.Errorf("after a close: %+v", w)
	}
}

func TestDecision(t *testing.T) {
	margin := int64(time.Minute)
	w := Window{Open: true, LastActivity: 0, ExpiresAt: 24 * hr, Reason: Open}
	tests := []struct {
		at      int64
		allowed bool
		reason  Reason
	}{
		{0, true, Open},
		{24*hr - margin - 1, true, Open},
		{24*hr - margin, false, Closing},
	}
	for _, tt := range tests {
		ok, before, reason := w.Decision(tt.at, margin)
		if ok != tt.allowed || reason != tt.reason || before != 24*hr-margin {
			t.Errorf("Decision(%d) = %v %d %v, want %v %d %v", tt.at, ok, before, reason, tt.allowed, 24*hr-margin, tt.reason)
		}
	}
	closed := Window{ExpiresAt: 24 * hr, Reason: Expired}
	if ok, _, reason := closed.Decision(25*hr, margin); ok || reason != Expired {
		t.Errorf("expired window: %v %v", ok, reason)
	}
}

func TestFEP(t *testing.T) {
	p := &Pair{}
	if p.FEPEligible(0) {
		t.Fatal("eligible without an entry point")
	}
	p.AddEntryPoint(10*hr, 1)
	for _, tt := range []struct {
		at   int64
		want bool
	}{{9 * hr, false}, {10 * hr, true}, {34*hr - 1, true}, {34 * hr, false}} {
		if got := p.FEPEligible(tt.at); got != tt.want {
			t.Errorf("FEPEligible(%dh) = %v, want %v", tt.at/hr, got, tt.want)
		}
	}
	if got := p.EligibleUntil(); got != 34*hr {
		t.Errorf("EligibleUntil = %d", got)
	}
	w := p.OpenFEP(12*hr, 72*hr)
	if w != (Interval{12 * hr, 84 * hr}) {
		t.Errorf("OpenFEP = %+v", w)
	}
	if p.FEPEligible(13 * hr) {
		t.Errorf("still eligible after the window opened (entry point consumed)")
	}
	if _, ok := p.FEPAt(83 * hr); !ok {
		t.Errorf("window not open at 83h")
	}
	if _, ok := p.FEPAt(84 * hr); ok {
		t.Errorf("window open at its end")
	}
	// A new entry point after the window can open another one.
	p.AddEntryPoint(100*hr, 2)
	if !p.FEPEligible(101 * hr) {
		t.Errorf("a new entry point is not eligible")
	}
	if got := p.EligibleUntil(); got != 124*hr {
		t.Errorf("EligibleUntil = %dh", got/hr)
	}
}

func TestConversations(t *testing.T) {
	p := &Pair{}
	p.AddConversation(Conversation{Category: 1, Start: 0, End: 24 * hr, Rules: "2023-06-01"})
	p.AddConversation(Conversation{Category: 2, Start: 5 * hr, End: 29 * hr, Rules: "2023-06-01"})
	p.AddConversation(Conversation{Category: 6, Start: 6 * hr, End: 30 * hr, Rules: "2022-02-01"})
	if got := p.ConversationsAt(10*hr, "2023-06-01"); len(got) != 2 || got[0].Category != 1 || got[1].Category != 2 {
		t.Errorf("open at 10h = %+v", got)
	}
	if got := p.ConversationsAt(25*hr, "2023-06-01"); len(got) != 1 || got[0].Category != 2 {
		t.Errorf("open at 25h = %+v", got)
	}
	p.CloseConversations(7*hr, "2023-06-01")
	if got := p.ConversationsAt(8*hr, "2023-06-01"); len(got) != 0 {
		t.Errorf("after closing: %+v", got)
	}
	if got := p.ConversationsAt(8*hr, "2022-02-01"); len(got) != 1 {
		t.Errorf("other rules' conversations must stay: %+v", got)
	}
}
