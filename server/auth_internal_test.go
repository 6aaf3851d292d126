package server

import (
	"testing"

	"google.golang.org/grpc"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// TestEveryMethodHasAScope: an RPC missing from methodScopes is refused to every
// token, so a new RPC must be given a scope before it ships.
func TestEveryMethodHasAScope(t *testing.T) {
	for _, sd := range []grpc.ServiceDesc{convstatev1.WindowService_ServiceDesc, convstatev1.BillingService_ServiceDesc, convstatev1.AdminService_ServiceDesc} {
		var names []string
		for _, m := range sd.Methods {
			names = append(names, m.MethodName)
		}
		for _, s := range sd.Streams {
			names = append(names, s.StreamName)
		}
		for _, n := range names {
			full := "/" + sd.ServiceName + "/" + n
			if _, ok := methodScopes[full]; !ok {
				t.Errorf("%s has no scope in methodScopes", full)
			}
		}
	}
}
