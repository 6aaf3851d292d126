package server

import (
	"context"
	"errors"
	"log/slog"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// ErrorDomain is google.rpc.ErrorInfo.domain of convstate's errors.
const ErrorDomain = "convstate"

// errorMapper maps errors to gRPC statuses at the service boundary: client errors
// keep their code and details; anything else is logged and becomes a generic
// Internal, never leaking internals.
type errorMapper struct{ log *slog.Logger }

// status converts err; prefix is the path of the request field holding the item
// the error is about (e.g. "message."), prepended to field violations.
func (m *errorMapper) status(ctx context.Context, err error, prefix string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, store.ErrClosed):
		return status.Error(codes.Unavailable, "the service is shutting down")
	}
	if e, ok := ledger.AsError(err); ok {
		var fv []*errdetails.BadRequest_FieldViolation
		if e.Field != "" {
			fv = []*errdetails.BadRequest_FieldViolation{{Field: prefix + e.Field, Description: e.Msg}}
		}
		return withDetails(e.Code, e.Msg, e.Reason, e.Metadata, fv)
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var pe *store.PanicError
	if errors.As(err, &pe) {
		m.log.ErrorContext(ctx, "internal error", "err", err, "stack", string(pe.Stack))
	} else {
		m.log.ErrorContext(ctx, "internal error", "err", err)
	}
	return status.Error(codes.Internal, "internal error")
}

// itemStatus converts a batch item's error (as returned for a single call) to a status.
func itemStatus(e *convstatev1.ItemError, prefix string) error {
	var fv []*errdetails.BadRequest_FieldViolation
	for _, v := range e.GetFieldViolations() {
		fv = append(fv, &errdetails.BadRequest_FieldViolation{Field: prefix + v.GetField(), Description: v.GetDescription()})
	}
	return withDetails(codes.Code(e.GetCode()), e.GetMessage(), e.GetReason(), e.GetMetadata(), fv)
}

// withDetails builds a status with ErrorInfo and, for field errors, BadRequest.
func withDetails(c codes.Code, msg string, reason convstatev1.ErrorReason, md map[string]string, fv []*errdetails.BadRequest_FieldViolation) error {
	st := status.New(c, msg)
	var details []protoadapt.MessageV1
	if reason != convstatev1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		details = append(details, &errdetails.ErrorInfo{Reason: reason.String(), Domain: ErrorDomain, Metadata: md})
	}
	if len(fv) > 0 {
		details = append(details, &errdetails.BadRequest{FieldViolations: fv})
	}
	// WithDetails only fails for unmarshalable details; keep the bare status then.
	if withD, err := st.WithDetails(details...); err == nil {
		st = withD
	}
	return st.Err()
}

// violationsToFields converts protovalidate violations to BadRequest field violations.
func violationsToFields(vs []*validate.Violation, prefix string) []*errdetails.BadRequest_FieldViolation {
	out := make([]*errdetails.BadRequest_FieldViolation, 0, len(vs))
	for _, v := range vs {
		out = append(out, &errdetails.BadRequest_FieldViolation{
			Field:       prefix + protovalidate.FieldPathString(v.GetField()),
			Description: v.GetMessage(),
		})
	}
	return out
}

// badRequestUnary adds google.rpc.BadRequest and ErrorInfo details to the
// protovalidate interceptor's InvalidArgument errors, so that every client (grpcurl,
// any language) reads field violations the standard way; the buf.validate.Violations
// detail stays for protovalidate-aware clients.
func badRequestUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	st, ok := status.FromError(err)
	if err == nil || !ok || st.Code() != codes.InvalidArgument {
		return resp, err
	}
	for _, d := range st.Details() {
		vs, ok := d.(*validate.Violations)
		if !ok {
			continue
		}
		br := &errdetails.BadRequest{FieldViolations: violationsToFields(vs.GetViolations(), "")}
		info := &errdetails.ErrorInfo{Reason: convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT.String(), Domain: ErrorDomain}
		if withD, derr := st.WithDetails(info, br); derr == nil {
			return resp, withD.Err()
		}
	}
	return resp, err
}
