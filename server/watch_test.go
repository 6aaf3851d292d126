package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

const (
	closingSoon = convstatev1.WindowEventType_WINDOW_EVENT_TYPE_CSW_CLOSING_SOON
	cswClosed   = convstatev1.WindowEventType_WINDOW_EVENT_TYPE_CSW_CLOSED
	fepClosed   = convstatev1.WindowEventType_WINDOW_EVENT_TYPE_FEP_CLOSED
)

type watchStream = grpc.ServerStreamingClient[convstatev1.WatchWindowEventsResponse]

// watch opens a watch stream; its calls fail rather than hang. Without a cursor it
// starts at t0 (start_time), so what it sees does not depend on when the server
// gets to the stream.
func (h *harness) watch(ctx context.Context, req *convstatev1.WatchWindowEventsRequest) watchStream {
	h.t.Helper()
	if req.GetCursor() == "" && req.GetStartTime() == nil {
		req.StartTime = at(0)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	h.t.Cleanup(cancel)
	s, err := h.win.WatchWindowEvents(ctx, req)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// event is what the tests compare of a window event.
type event struct {
	typ     convstatev1.WindowEventType
	user    string
	at      time.Duration // event_time - t0
	expires time.Duration // window or FEP expiry - t0
}

func next(t *testing.T, s watchStream) (event, string) {
	t.Helper()
	m, err := s.Recv()
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	e := m.GetEvent()
	exp := e.GetWindowExpiresAt()
	if e.GetType() == fepClosed {
		exp = e.GetFepExpiresAt()
	}
	return event{e.GetType(), e.GetUserId(), e.GetEventTime().AsTime().Sub(t0), exp.AsTime().Sub(t0)}, e.GetCursor()
}

// TestWatch drives watchers with the injected clock: closing soon at the lead the
// caller picked, closed, FEP closed, in time order; two watchers at once; a
// reconnect with a cursor misses nothing and repeats nothing.
func TestWatch(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0)
	lead := &convstatev1.WatchWindowEventsRequest{ClosingLead: dur(time.Hour)}
	w1 := hs.watch(hs.ctx, lead)
	w2 := hs.watch(hs.ctx, &convstatev1.WatchWindowEventsRequest{}) // no lead: no closing-soon events

	hs.record(
		userMsg("u1", brUser, 0),
		entryMsg("e1", usUser, 0), send("r1", usUser, 0, marketing), statusFact("r1", delivered, 0, 0), // FEP until 72 h
	)
	hs.clock.Set(t0.Add(2 * h))
	hs.record(userMsg("u2", brUser, 2*h)) // extends brUser's window to 26 h: no event at 23 h or 24 h for it

	// Just past 25 h (plus the watchers' settle second): the soon events of both windows.
	hs.clock.Set(t0.Add(25*h + 2*time.Second))
	want1 := []event{
		{closingSoon, usUser, 23 * h, 24 * h},
		{cswClosed, usUser, 24 * h, 24 * h},
		{closingSoon, brUser, 25 * h, 26 * h},
	}
	var cursors []string
	for _, w := range want1 {
		got, c := next(t, w1)
		if got != w {
			t.Errorf("watcher 1: got %+v, want %+v", got, w)
		}
		cursors = append(cursors, c)
	}
	if got, _ := next(t, w2); got != (event{cswClosed, usUser, 24 * h, 24 * h}) {
		t.Errorf("watcher 2: got %+v", got)
	}

	hs.clock.Set(t0.Add(80 * h))
	for _, want := range []event{{cswClosed, brUser, 26 * h, 26 * h}, {fepClosed, usUser, 72 * h, 72 * h}} {
		if got, _ := next(t, w1); got != want {
			t.Errorf("watcher 1: got %+v, want %+v", got, want)
		}
		if got, _ := next(t, w2); got != want {
			t.Errorf("watcher 2: got %+v, want %+v", got, want)
		}
	}

	// Reconnecting after the second event: the third and later, nothing twice.
	r := hs.watch(hs.ctx, &convstatev1.WatchWindowEventsRequest{ClosingLead: dur(time.Hour), Cursor: cursors[1]})
	for _, want := range []event{want1[2], {cswClosed, brUser, 26 * h, 26 * h}, {fepClosed, usUser, 72 * h, 72 * h}} {
		if got, _ := next(t, r); got != want {
			t.Errorf("resumed watcher: got %+v, want %+v", got, want)
		}
	}
}

// TestWatchForceClose: a 131047 closes the window now, and watchers hear of it
// even though the window was due to close later.
func TestWatchForceClose(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0)
	w := hs.watch(hs.ctx, &convstatev1.WatchWindowEventsRequest{})
	hs.record(userMsg("u1", brUser, 0))
	hs.clock.Set(t0.Add(time.Hour))
	hs.record(send("b1", brUser, time.Hour, freeForm), statusFact("b1", failed, time.Hour, 131047))
	hs.clock.Set(t0.Add(time.Hour + 2*time.Second))
	if got, _ := next(t, w); got != (event{cswClosed, brUser, time.Hour, time.Hour}) {
		t.Errorf("got %+v", got)
	}
}

// TestWatchScope: a watcher sees only the businesses its token may see; asking
// for another business is refused.
func TestWatchScope(t *testing.T) {
	ts := newTokens(t)
	hs := newHarness(t, withTokens(ts.tokens))
	hs.clock.Set(t0)
	w := hs.watch(hs.as(ts.reader), &convstatev1.WatchWindowEventsRequest{})
	other := &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
		BusinessId: otherBiz, UserId: brUser, MessageId: "o1", Timestamp: at(0)}}}
	hs.clock.Set(t0.Add(time.Hour))
	r, err := hs.win.RecordFacts(hs.as(ts.root), &convstatev1.RecordFactsRequest{Facts: []*convstatev1.Fact{other, userMsg("u1", usUser, time.Hour)}})
	if err != nil || r.GetRecorded() != 2 {
		t.Fatal(r, err)
	}
	hs.clock.Set(t0.Add(30 * h))
	if got, _ := next(t, w); got.user != usUser {
		t.Errorf("the reader's watcher got %+v, want only its business's events", got)
	}
	bad := hs.watch(hs.as(ts.reader), &convstatev1.WatchWindowEventsRequest{BusinessIds: []string{otherBiz}})
	if _, err := bad.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("watching another business: %v, want PermissionDenied", err)
	}
	badCursor := hs.watch(hs.as(ts.reader), &convstatev1.WatchWindowEventsRequest{Cursor: "nope"})
	if _, err := badCursor.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a bad cursor: %v, want InvalidArgument", err)
	}
}
