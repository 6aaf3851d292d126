package ledger

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
)

// Error is a client error about one request or batch item; the server maps it to a
// gRPC status with ErrorInfo (and BadRequest when Field is set). Anything else the
// ledger returns is internal.
type Error struct {
	Code     codes.Code
	Reason   convstatev1.ErrorReason
	Msg      string
	Field    string // the invalid field's path within the item, for InvalidArgument
	Metadata map[string]string
}

func (e *Error) Error() string { return e.Msg }

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	if err == nil { // errors.As's target escapes: an allocation per call, most of them for nil
		return nil, false
	}
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func invalidUser(field, user string, err error) *Error {
	msg := err.Error()
	var ue *pricing.UserIDError
	if errors.As(err, &ue) {
		msg = ue.Error()
	}
	return &Error{
		Code:     codes.InvalidArgument,
		Reason:   convstatev1.ErrorReason_ERROR_REASON_INVALID_USER_ID,
		Msg:      msg,
		Field:    field,
		Metadata: map[string]string{"user_id": user},
	}
}

func invalidField(field, format string, args ...any) *Error {
	return &Error{
		Code:   codes.InvalidArgument,
		Reason: convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
		Msg:    fmt.Sprintf(format, args...),
		Field:  field,
	}
}

func inFuture(field string, ts time.Time, skew time.Duration) *Error {
	return &Error{
		Code:   codes.InvalidArgument,
		Reason: convstatev1.ErrorReason_ERROR_REASON_TIMESTAMP_IN_FUTURE,
		Msg: fmt.Sprintf("%s %s is in the future (beyond the allowed clock skew of %s): facts carry Meta's timestamp of when they happened",
			field, ts.UTC().Format(time.RFC3339), skew),
		Field:    field,
		Metadata: map[string]string{"timestamp": ts.UTC().Format(time.RFC3339Nano), "max_skew": skew.String()},
	}
}

func unknownMessage(business, id string) *Error {
	return &Error{
		Code:   codes.NotFound,
		Reason: convstatev1.ErrorReason_ERROR_REASON_UNKNOWN_MESSAGE,
		Msg: fmt.Sprintf("no business message %q is recorded for business %q: record the message (RecordBusinessMessage) before its statuses",
			id, business),
		Field:    "message_id",
		Metadata: map[string]string{"business_id": business, "message_id": id},
	}
}

func idConflict(id, recordedAs, want string) *Error {
	return &Error{
		Code:   codes.AlreadyExists,
		Reason: convstatev1.ErrorReason_ERROR_REASON_MESSAGE_ID_CONFLICT,
		Msg:    fmt.Sprintf("message id %q is already recorded as %s, not as %s", id, recordedAs, want),
		Field:  "message_id",
		Metadata: map[string]string{
			"message_id":  id,
			"recorded_as": recordedAs,
		},
	}
}

func pairNotFound(business, user string) *Error {
	return &Error{
		Code:     codes.NotFound,
		Reason:   convstatev1.ErrorReason_ERROR_REASON_PAIR_NOT_FOUND,
		Msg:      fmt.Sprintf("nothing is recorded for business %q and user %q", business, user),
		Metadata: map[string]string{"business_id": business, "user_id": user},
	}
}

// notFound reports whether err is the store's ErrNotFound.
func notFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// recipient validates a user id and an optional phone number (for a BSUID user):
// the normalized id, the normalized phone and the recipient's region. field names
// the user id's field in errors.
func recipient(field, user, phone string) (u, ph, region string, e *Error) {
	if phone != "" {
		n, err := pricing.NormalizeUser(phone)
		if err != nil || pricing.IsBSUID(phone) {
			return "", "", "", invalidField("user_phone", "user_phone %q is not the digits of an E.164 phone number", phone)
		}
		ph = n
	}
	u, region, err := pricing.Recipient(user, ph)
	if err != nil {
		return "", "", "", invalidUser(field, user, err)
	}
	return u, ph, region, nil
}

// beside validates a status's recipient_user_id, the BSUID of its recipient user: it is
// kept when user is the recipient's phone number, and must be user when user is a BSUID.
func beside(user, bsuid string) (string, *Error) {
	if !pricing.IsBSUID(bsuid) {
		return "", invalidField("recipient_user_id", "recipient_user_id %q is not a BSUID (country, a dot, letters and digits)", bsuid)
	}
	if _, err := pricing.NormalizeUser(bsuid); err != nil {
		return "", invalidUser("recipient_user_id", bsuid, err)
	}
	if !pricing.IsBSUID(user) {
		return bsuid, nil
	}
	if user != bsuid {
		return "", invalidField("recipient_user_id", "recipient_user_id %q is not recipient_id %q: it is the BSUID of a recipient named by phone number", bsuid, user)
	}
	return "", nil
}
