package server

import (
	"time"

	"google.golang.org/grpc"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
)

const (
	// watchSettle keeps watchers this far behind the clock, so a fact committed
	// just after its timestamp was taken cannot land behind a watcher's position.
	watchSettle = time.Second
	// watchPoll is how often an idle watcher looks for new events.
	watchPoll = time.Second
	// watchChunk bounds the events read per transaction.
	watchChunk = 500
)

// WatchWindowEvents streams window events from the expiry index. Each watcher
// reads in short transactions of its own and sends outside them, so watchers are
// independent and a slow one only slows itself.
func (s *windowService) WatchWindowEvents(req *convstatev1.WatchWindowEventsRequest, stream grpc.ServerStreamingServer[convstatev1.WatchWindowEventsResponse]) error {
	ctx := stream.Context()
	pos := ledger.StartAt(s.now().Add(-watchSettle).UnixNano())
	if c := req.GetCursor(); c != "" {
		p, err := ledger.ParseCursor(c)
		if err != nil {
			return s.errs.status(ctx, err, "")
		}
		pos = p
	} else if st := req.GetStartTime(); st != nil {
		pos = ledger.StartAt(st.AsTime().UnixNano())
	}
	var lead int64
	if d := req.GetClosingLead(); d != nil {
		lead = int64(d.AsDuration())
	}
	keep := watchFilter(principalOf(ctx), req.GetBusinessIds())
	// The headers tell the client the stream is accepted (authenticated, valid) before
	// any event, which may be long in coming.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	for {
		if err := stillAuthorized(ctx); err != nil {
			return err
		}
		now := s.now()
		events, next, more, err := s.led.Events(ctx, pos, now.Add(-watchSettle).UnixNano(), lead, keep, watchChunk)
		if err != nil {
			return s.errs.status(ctx, err, "")
		}
		for _, e := range events {
			if err := stream.Send(&convstatev1.WatchWindowEventsResponse{Event: e}); err != nil {
				return err
			}
		}
		pos = next
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.until(now.Add(watchPoll)):
		}
	}
}

// watchFilter keeps the requested businesses, within what the caller may see.
func watchFilter(p principalView, ids []string) func(string) bool {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	if len(want) == 0 && p == nil {
		return nil
	}
	return func(b string) bool {
		return (len(want) == 0 || want[b]) && (p == nil || p.Sees(b))
	}
}
