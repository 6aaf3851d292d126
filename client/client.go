// Package client is the Go client of convstate: a connection with production
// defaults (keepalive, a per-call timeout, retries of idempotent calls on
// UNAVAILABLE) and the generated service clients, plus typed helpers for the calls
// a sending service makes on every message.
//
//	c, err := client.New("127.0.0.1:50051")
//	...
//	defer c.Close()
//	ok, d, err := c.CanSendFreeForm(ctx, businessID, userID)
package client

import (
	"context"
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// Client is a connection to convstate with its service clients.
type Client struct {
	conn *grpc.ClientConn
	convstatev1.WindowServiceClient
	convstatev1.BillingServiceClient
	convstatev1.AdminServiceClient
}

// DefaultTimeout bounds calls whose context has no deadline.
const DefaultTimeout = 10 * time.Second

type options struct {
	tls      *tls.Config
	token    string
	insecure bool
	timeout  time.Duration
	dial     []grpc.DialOption
}

// Option configures New.
type Option func(*options)

// WithTLS connects over TLS with cfg (nil: the system roots).
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls = cfg
	}
}

// WithToken sends a bearer token with every call.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTimeout sets the timeout of calls whose context has no deadline (0: none).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithDialOptions adds grpc dial options (e.g. a context dialer for tests).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// WithInsecureToken allows sending a token over a plaintext connection (tests,
// loopback); without it a token requires TLS.
func WithInsecureToken() Option { return func(o *options) { o.insecure = true } }

// serviceConfig retries idempotent calls on UNAVAILABLE. Every unary convstate call
// is idempotent (facts are deduplicated on their message id; profile updates are
// puts), so all are retried; streams are not.
const serviceConfig = `{
  "methodConfig": [{
    "name": [
      {"service": "convstate.v1.WindowService"},
      {"service": "convstate.v1.BillingService"},
      {"service": "convstate.v1.AdminService"}
    ],
    "waitForReady": false,
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// New connects to a convstate server at target ("host:port"); the connection is
// made lazily on the first call.
func New(target string, opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout}
	for _, fn := range opts {
		fn(&o)
	}
	creds := insecure.NewCredentials()
	if o.tls != nil {
		creds = credentials.NewTLS(o.tls)
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	}
	if o.timeout > 0 {
		dial = append(dial, grpc.WithChainUnaryInterceptor(timeoutInterceptor(o.timeout)))
	}
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: o.token, insecure: o.insecure}))
	}
	conn, err := grpc.NewClient(target, append(dial, o.dial...)...)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn:                 conn,
		WindowServiceClient:  convstatev1.NewWindowServiceClient(conn),
		BillingServiceClient: convstatev1.NewBillingServiceClient(conn),
		AdminServiceClient:   convstatev1.NewAdminServiceClient(conn),
	}, nil
}

// Conn returns the underlying connection (for other services, e.g. health).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

func timeoutInterceptor(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// bearer is per-call bearer-token credentials.
type bearer struct {
	token    string
	insecure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return !b.insecure }
