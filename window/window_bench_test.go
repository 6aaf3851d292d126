package window_test

import (
	"testing"
	"time"

	"github.com/convstate/convstate/window"
)

// benchPair is a pair at the history bound: 64 user messages an hour apart, two
// force-closes, an entry point, a free entry point window and a few conversations.
func benchPair() (*window.Pair, int64) {
	const h = int64(time.Hour)
	base := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	p := &window.Pair{}
	for i := range window.MaxActivity {
		p.AddActivity(base + int64(i)*h)
	}
	p.AddClosure(base + 10*h + h/2)
	p.AddClosure(base + 40*h + h/2)
	p.AddEntryPoint(base+50*h, 1)
	p.OpenFEP(base+50*h+h/2, 72*h)
	for i := range 4 {
		p.AddConversation(window.Conversation{Category: int32(i + 1), Start: base + int64(i)*12*h, End: base + int64(i)*12*h + 24*h, Rules: "2023-06-01"})
	}
	return p, base + 63*h + h/3 // 20 minutes after the last message: open
}

var sinkWindow window.Window

// BenchmarkAt is the window clock at one time on a pair with a full history.
func BenchmarkAt(b *testing.B) {
	p, t := benchPair()
	b.ReportAllocs()
	for b.Loop() {
		sinkWindow = p.At(t)
	}
}

// BenchmarkAtPast asks for a time in the middle of the history (binary searches
// both slices).
func BenchmarkAtPast(b *testing.B) {
	p, t := benchPair()
	t -= 30 * int64(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		sinkWindow = p.At(t)
	}
}

var (
	sinkAllowed bool
	sinkBefore  int64
	sinkReason  window.Reason
)

// BenchmarkDecision is what a Decide call asks the clock: the window at t and the
// decision with the default 60 s margin.
func BenchmarkDecision(b *testing.B) {
	p, t := benchPair()
	margin := int64(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		sinkAllowed, sinkBefore, sinkReason = p.At(t).Decision(t, margin)
	}
	if !sinkAllowed {
		b.Fatal("the window should be open")
	}
}

var sinkConvs []window.Conversation

// BenchmarkConversationsAt is the open conversations (2023 rules only); it returns a
// new slice when any is open.
func BenchmarkConversationsAt(b *testing.B) {
	p, _ := benchPair()
	base := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	t := base + 30*int64(time.Hour) // inside conversations 2 and 3
	b.ReportAllocs()
	for b.Loop() {
		sinkConvs = p.ConversationsAt(t, "2023-06-01")
	}
	if len(sinkConvs) != 2 {
		b.Fatalf("%d conversations open, want 2", len(sinkConvs))
	}
}

var sinkLatest window.Window

// BenchmarkLatest: the latest window, read on every write of a pair (expiry index).
func BenchmarkLatest(b *testing.B) {
	p, _ := benchPair()
	b.ReportAllocs()
	for b.Loop() {
		sinkLatest = p.Latest()
	}
}
