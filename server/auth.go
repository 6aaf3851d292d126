package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/convstate/convstate/auth"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// methodScopes is the scope every RPC needs. A method missing here is refused, so
// a new RPC cannot be reachable before someone decides who may call it.
var methodScopes = map[string]auth.Scope{
	convstatev1.WindowService_RecordUserMessage_FullMethodName:     auth.Write,
	convstatev1.WindowService_RecordUserCall_FullMethodName:        auth.Write,
	convstatev1.WindowService_RecordBusinessMessage_FullMethodName: auth.Write,
	convstatev1.WindowService_RecordStatus_FullMethodName:          auth.Write,
	convstatev1.WindowService_RecordFacts_FullMethodName:           auth.Write,
	convstatev1.WindowService_Decide_FullMethodName:                auth.Read,
	convstatev1.WindowService_DecideBatch_FullMethodName:           auth.Read,
	convstatev1.WindowService_GetPair_FullMethodName:               auth.Read,
	convstatev1.WindowService_WatchWindowEvents_FullMethodName:     auth.Read,
	convstatev1.WindowService_IngestWebhook_FullMethodName:         auth.Write,
	convstatev1.BillingService_ListDiscrepancies_FullMethodName:    auth.Read,
	convstatev1.BillingService_GetCharge_FullMethodName:            auth.Read,
	convstatev1.BillingService_GetUsage_FullMethodName:             auth.Read,
	convstatev1.AdminService_SetBusinessProfile_FullMethodName:     auth.Admin,
	convstatev1.AdminService_GetBusinessProfile_FullMethodName:     auth.Read,
	convstatev1.AdminService_ListRateCards_FullMethodName:          auth.Read,
	convstatev1.AdminService_Backup_FullMethodName:                 auth.Admin,
	convstatev1.AdminService_CollectGarbage_FullMethodName:         auth.Admin,
}

type principalKey struct{}

// principal returns the authenticated caller; nil when authentication is off.
func principal(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// stillAuthorized ends a long stream whose token a reload of the token file has
// since removed or changed: what it was authorized for is no longer granted.
func stillAuthorized(ctx context.Context) error {
	if p := principal(ctx); p != nil && p.Revoked() {
		return status.Errorf(codes.Unauthenticated, "token %q was revoked or changed by a reload of the token file: reconnect", p.Name)
	}
	return nil
}

// principalView is what filters need of a principal.
type principalView interface{ Sees(business string) bool }

// principalOf returns the caller as a filter, nil when authentication is off.
func principalOf(ctx context.Context) principalView {
	if p := principal(ctx); p != nil {
		return p
	}
	return nil
}

// authenticator checks bearer tokens and method scopes (before validation: a caller
// without the right does not learn what is wrong with its request).
// It logs every refusal (the method, the peer and the token's name when known;
// never the token).
type authenticator struct {
	tokens *auth.Tokens
	log    *slog.Logger
}

func (a *authenticator) authenticate(ctx context.Context) (context.Context, error) {
	method, _ := grpc.Method(ctx)
	refuse := func(code codes.Code, caller, msg string) error {
		var addr string
		if p, ok := peer.FromContext(ctx); ok {
			addr = p.Addr.String()
		}
		a.log.WarnContext(ctx, "call refused", "grpc.method", method, "peer.address", addr, "caller", caller, "grpc.code", code.String(), "reason", msg)
		return status.Error(code, msg)
	}
	token, err := grpcauth.AuthFromMD(ctx, "bearer")
	if err != nil {
		return nil, refuse(codes.Unauthenticated, "", "missing bearer token: send the metadata header \"authorization: Bearer <token>\"")
	}
	p, ok := a.tokens.Lookup(token)
	if !ok {
		return nil, refuse(codes.Unauthenticated, "", "invalid token")
	}
	need, known := methodScopes[method]
	if !known {
		return nil, refuse(codes.PermissionDenied, p.Name, method+" is not open to tokens")
	}
	if !p.May(need) {
		return nil, refuse(codes.PermissionDenied, p.Name, fmt.Sprintf("token %q has scopes %q; %s needs %q", p.Name, p.Scopes, method, need))
	}
	return context.WithValue(ctx, principalKey{}, p), nil
}

// businessesOf returns the business numbers a request touches; all is true when it
// touches data of every business (a portfolio, a backup).
func businessesOf(req any) (ids []string, all bool) {
	switch r := req.(type) {
	case *convstatev1.RecordUserMessageRequest:
		return []string{r.GetMessage().GetBusinessId()}, false
	case *convstatev1.RecordUserCallRequest:
		return []string{r.GetCall().GetBusinessId()}, false
	case *convstatev1.RecordBusinessMessageRequest:
		return []string{r.GetMessage().GetBusinessId()}, false
	case *convstatev1.RecordStatusRequest:
		return []string{r.GetStatus().GetBusinessId()}, false
	case *convstatev1.RecordFactsRequest:
		for _, f := range r.GetFacts() {
			if f.GetTemplateCategoryChange() != nil {
				all = true // a WABA's template: only for tokens of every business
				continue
			}
			ids = append(ids, factBusiness(f))
		}
		return ids, all
	case *convstatev1.IngestWebhookRequest:
		return nil, false // the handler authorizes the businesses found in the body
	case *convstatev1.GetUsageRequest:
		if r.GetPortfolioId() != "" {
			return nil, true
		}
		return []string{r.GetBusinessId()}, false
	case *convstatev1.SetBusinessProfileRequest:
		return []string{r.GetProfile().GetBusinessId()}, false
	case *convstatev1.ListRateCardsRequest:
		return nil, false // no business data
	case *convstatev1.BackupRequest, *convstatev1.CollectGarbageRequest:
		return nil, true
	case *convstatev1.WatchWindowEventsRequest:
		return r.GetBusinessIds(), false // none: the stream is filtered to what the caller sees
	case interface{ GetBusinessId() string }: // Decide, DecideBatch, GetPair, GetCharge, GetBusinessProfile
		return []string{r.GetBusinessId()}, false
	}
	return nil, true // unknown: only for tokens that see everything
}

func factBusiness(f *convstatev1.Fact) string {
	switch k := f.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		return k.UserMessage.GetBusinessId()
	case *convstatev1.Fact_UserCall:
		return k.UserCall.GetBusinessId()
	case *convstatev1.Fact_BusinessMessage:
		return k.BusinessMessage.GetBusinessId()
	case *convstatev1.Fact_Status:
		return k.Status.GetBusinessId()
	}
	return ""
}

// authorize refuses a request touching a business outside the caller's scope.
func authorize(ctx context.Context, ids []string, all bool) error {
	p := principal(ctx)
	if p == nil {
		return nil
	}
	if all && !p.All {
		return status.Errorf(codes.PermissionDenied, "token %q is limited to some businesses; this call needs a token for all (*)", p.Name)
	}
	for _, id := range ids {
		if !p.Sees(id) {
			return status.Errorf(codes.PermissionDenied, "token %q may not access business %q", p.Name, id)
		}
	}
	return nil
}

// authorizeUnary checks business scopes after validation; nothing is read or
// written for a refused request (the whole batch is refused if one fact is out of
// scope).
func authorizeUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ids, all := businessesOf(req)
	if err := authorize(ctx, ids, all); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// authorizeStream checks the first (only) request of a server stream.
func authorizeStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &authorizedStream{ServerStream: ss})
}

type authorizedStream struct{ grpc.ServerStream }

func (s *authorizedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	ids, all := businessesOf(m)
	return authorize(s.Context(), ids, all)
}

// limiter is a per-token rate limit (go-grpc-middleware ratelimit.Limiter).
type limiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func (l *limiter) Limit(ctx context.Context) error {
	p := principal(ctx)
	if p == nil {
		return nil
	}
	l.mu.Lock()
	lim, ok := l.by[p.Name]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.by[p.Name] = lim
	}
	l.mu.Unlock()
	if !lim.Allow() {
		return fmt.Errorf("token %q exceeds %v requests/s (burst %d)", p.Name, float64(l.limit), l.burst)
	}
	return nil
}
