package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"

	"google.golang.org/grpc/codes"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/store"
)

// Position is a place in the stream of window events: events are ordered by
// (time, type, business, user), and a position is the key of the last event seen.
type Position struct {
	At       int64
	Type     convstatev1.WindowEventType
	Business string
	User     string
}

func (p Position) compare(q Position) int {
	return cmp.Or(cmp.Compare(p.At, q.At), cmp.Compare(p.Type, q.Type), cmp.Compare(p.Business, q.Business), cmp.Compare(p.User, q.User))
}

// StartAt is the position just before every event at or after t.
func StartAt(t int64) Position { return Position{At: t} }

const cursorPrefix = "v1."

// Cursor encodes a position for clients (opaque to them).
func (p Position) Cursor() string {
	b := binary.BigEndian.AppendUint64(nil, uint64(p.At))
	b = append(b, byte(p.Type))
	b = append(b, p.Business...)
	b = append(b, 0)
	b = append(b, p.User...)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a cursor from Cursor.
func ParseCursor(c string) (Position, error) {
	bad := &Error{Code: codes.InvalidArgument, Reason: convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
		Msg: "cursor is not one convstate returned", Field: "cursor"}
	rest, ok := bytes.CutPrefix([]byte(c), []byte(cursorPrefix))
	if !ok {
		return Position{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(string(rest))
	if err != nil || len(b) < 10 {
		return Position{}, bad
	}
	business, user, ok := bytes.Cut(b[9:], []byte{0})
	if !ok {
		return Position{}, bad
	}
	return Position{At: int64(binary.BigEndian.Uint64(b)), Type: convstatev1.WindowEventType(b[8]), Business: string(business), User: string(user)}, nil
}

var errEnough = errors.New("enough events")

// Events returns the window events after position from and before until, of the
// businesses keep accepts (nil: all), reading at most limit index entries; next is
// where to read on from, and more says whether entries were left unread. Closed
// events come from the expiry index at their time; closing-soon events (lead > 0)
// from the same entries lead earlier; stale entries (a window that moved) are
// skipped. It reads in one short transaction: the caller sends the events after it
// ends, so a slow watcher never holds the database.
func (l *Ledger) Events(ctx context.Context, from Position, until, lead int64, keep func(business string) bool, limit int) (events []*convstatev1.WindowEvent, next Position, more bool, err error) {
	var out []*convstatev1.WindowEvent
	next = from
	err = l.view(ctx, func(tx store.ReadTx) error {
		out, next, more = nil, from, false
		var found []Position
		collect := func(shift int64, only store.ExpiryKind) error {
			n := 0
			err := tx.Expiring(from.At+shift, until+shift, func(e store.Expiry) error {
				if only != 0 && e.Kind != only {
					return nil
				}
				p := Position{At: e.At - shift, Business: e.BusinessID, User: e.UserID}
				switch {
				case shift > 0:
					p.Type = convstatev1.WindowEventType_WINDOW_EVENT_TYPE_CSW_CLOSING_SOON
				case e.Kind == store.ExpiryFEP:
					p.Type = convstatev1.WindowEventType_WINDOW_EVENT_TYPE_FEP_CLOSED
				default:
					p.Type = convstatev1.WindowEventType_WINDOW_EVENT_TYPE_CSW_CLOSED
				}
				if p.compare(from) <= 0 || (keep != nil && !keep(p.Business)) {
					return nil
				}
				found = append(found, p)
				if n++; n >= limit {
					return errEnough // each scan is in key order: the rest come later
				}
				return nil
			})
			if errors.Is(err, errEnough) {
				return nil
			}
			return err
		}
		if err := collect(0, 0); err != nil {
			return err
		}
		if lead > 0 {
			if err := collect(lead, store.ExpiryCSW); err != nil {
				return err
			}
		}
		slices.SortFunc(found, Position.compare)
		if len(found) > limit {
			found, more = found[:limit], true
		}
		out = make([]*convstatev1.WindowEvent, 0, len(found))
		for _, p := range found {
			next = p
			rec, err := tx.Pair(p.Business, p.User)
			if notFound(err) {
				continue // garbage-collected
			}
			if err != nil {
				return err
			}
			ev := &convstatev1.WindowEvent{Type: p.Type, BusinessId: p.Business, UserId: p.User, EventTime: ts(p.At), Cursor: p.Cursor()}
			clock := clockOf(rec)
			if p.Type == convstatev1.WindowEventType_WINDOW_EVENT_TYPE_FEP_CLOSED {
				if rec.FepIndexed != p.At {
					continue // stale: the window moved
				}
				if w, ok := clock.LatestFEP(); ok {
					ev.FepExpiresAt = ts(w.End)
				}
			} else {
				if indexed := rec.CswIndexed; (p.Type == convstatev1.WindowEventType_WINDOW_EVENT_TYPE_CSW_CLOSED && indexed != p.At) ||
					(p.Type == convstatev1.WindowEventType_WINDOW_EVENT_TYPE_CSW_CLOSING_SOON && indexed != p.At+lead) {
					continue // stale: the window moved
				}
				ev.WindowExpiresAt = ts(clock.Latest().ExpiresAt)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, next, more, err
}
