package server

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// TestFastValidationAgreesWithProtovalidate generates messages of every type of the API
// that has a fast check, from values at and beyond its rules' bounds, and checks that the
// fast check accepts exactly what protovalidate accepts.
func TestFastValidationAgreesWithProtovalidate(t *testing.T) {
	pv, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	v := newFastValidator(pv)
	rng := rand.New(rand.NewPCG(7, 11))
	var types []protoreflect.MessageDescriptor
	for md, r := range v.fast.byType {
		if r != nil {
			types = append(types, md)
		}
	}
	slices.SortFunc(types, func(a, b protoreflect.MessageDescriptor) int {
		return strings.Compare(string(a.FullName()), string(b.FullName()))
	})
	for _, md := range types {
		name := md.FullName()
		accepted, rejected := 0, 0
		for range 3000 {
			m := dynamicpb.NewMessage(md)
			fill(rng, m, 3)
			// The fast check must never accept what protovalidate refuses, and should accept
			// all it accepts but messages holding an invalid Duration, which it leaves to it.
			fast, slow := v.fast.valid(m), pv.Validate(m) == nil
			if fast != slow && (fast || !invalidDuration(m)) {
				t.Fatalf("%s %v: fast check %v, protovalidate %v (%v)", name, m, fast, slow, pv.Validate(m))
			}
			if slow {
				accepted++
			} else {
				rejected++
			}
		}
		t.Logf("%s: %d kept their rules, %d broke them", name, accepted, rejected)
		if rejected == 0 && hasRules(v.fast.byType[md]) {
			t.Errorf("%s: no generated message broke its rules", name)
		}
		if accepted == 0 {
			t.Errorf("%s: no generated message kept its rules", name)
		}
	}
	// The messages every write carries must keep their fast check: a rule outside the
	// subset would silently cost ingestion a tenth of its CPU.
	for _, n := range []protoreflect.FullName{"convstate.v1.Fact", "convstate.v1.UserMessage",
		"convstate.v1.BusinessMessage", "convstate.v1.StatusUpdate", "convstate.v1.RecordUserMessageRequest",
		"convstate.v1.RecordBusinessMessageRequest", "convstate.v1.RecordStatusRequest", "convstate.v1.DecideRequest"} {
		if v.fast.byType[descriptor(t, n)] == nil {
			t.Errorf("%s has no fast check", n)
		}
	}
}

// invalidDuration reports whether m holds a google.protobuf.Duration that is not a valid one.
func invalidDuration(m protoreflect.Message) bool {
	if m.Descriptor().FullName() == durationName {
		f := m.Descriptor().Fields()
		d := &durationpb.Duration{Seconds: m.Get(f.ByNumber(1)).Int(), Nanos: int32(m.Get(f.ByNumber(2)).Int())}
		return d.CheckValid() != nil
	}
	invalid := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		invalid = fd.Message() != nil && !fd.IsList() && !fd.IsMap() && invalidDuration(v.Message())
		return !invalid
	})
	return invalid
}

func hasRules(mr *msgRules) bool { return len(mr.fields) > 0 || len(mr.oneofs) > 0 }

// descriptor returns the descriptor of a message type of the API.
func descriptor(t *testing.T, name protoreflect.FullName) protoreflect.MessageDescriptor {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.MessageDescriptor)
}

// strs are strings at and around the API's string rules: empty, ids of every allowed and
// refused character, lengths at and past 20, 64, 256 and 512, non-ASCII.
var strs = []string{
	"", "a", "b1", "106540352242922", "5511987654321", "+5511987654321", "US.13491208655302741918",
	"wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBRjBCMjQ5N0Q2NjdCRjg2QTFCAA==", "a.b_c:d-e", "-a", ".a",
	"a b", "a\tb", "é", "aé", "~!", "\x7f", "2025-09", "BRL", "BR", "marketing",
	strings.Repeat("7", 20), strings.Repeat("7", 21), strings.Repeat("a", 64), strings.Repeat("a", 65),
	strings.Repeat("é", 64), strings.Repeat("é", 65), strings.Repeat("a", 256), strings.Repeat("a", 257),
	strings.Repeat("a", 512), strings.Repeat("a", 513),
}

// fill sets a random subset of m's fields to values drawn around the rules' bounds, and
// one member (or none) of each oneof.
func fill(rng *rand.Rand, m protoreflect.Message, depth int) {
	md := m.Descriptor()
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			continue
		}
		if rng.IntN(5) > 0 { // mostly set
			set(rng, m, fd, depth)
		}
	}
	oneofs := md.Oneofs()
	for i := range oneofs.Len() {
		od := oneofs.Get(i)
		if od.IsSynthetic() || rng.IntN(6) == 0 {
			continue
		}
		set(rng, m, od.Fields().Get(rng.IntN(od.Fields().Len())), depth)
	}
}

func set(rng *rand.Rand, m protoreflect.Message, fd protoreflect.FieldDescriptor, depth int) {
	if fd.IsList() || fd.IsMap() {
		return // left empty: list and map rules are outside the subset
	}
	var v protoreflect.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		v = protoreflect.ValueOfString(strs[rng.IntN(len(strs))])
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		n := protoreflect.EnumNumber(99)
		if rng.IntN(4) > 0 {
			n = vals.Get(rng.IntN(vals.Len())).Number()
		}
		v = protoreflect.ValueOfEnum(n)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		v = protoreflect.ValueOfInt32([]int32{-1, 0, 1, 131047}[rng.IntN(4)])
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		v = protoreflect.ValueOfInt64([]int64{-1, 0, 1, 86399, 86400, 86401, 1 << 40}[rng.IntN(7)])
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		v = protoreflect.ValueOfUint32(uint32(rng.IntN(3)))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		v = protoreflect.ValueOfUint64(uint64(rng.IntN(3)))
	case protoreflect.BoolKind:
		v = protoreflect.ValueOfBool(rng.IntN(2) == 0)
	case protoreflect.BytesKind:
		v = protoreflect.ValueOfBytes([]byte{byte(rng.IntN(256))})
	case protoreflect.DoubleKind:
		v = protoreflect.ValueOfFloat64([]float64{-1, 0, 0.5}[rng.IntN(3)])
	case protoreflect.FloatKind:
		v = protoreflect.ValueOfFloat32([]float32{-1, 0, 0.5}[rng.IntN(3)])
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if depth == 0 {
			return
		}
		nested := m.NewField(fd).Message()
		fill(rng, nested, depth-1)
		v = protoreflect.ValueOfMessage(nested)
	}
	m.Set(fd, v)
}

// TestPatternMatchers checks each hand-written matcher against the regular expression it
// stands for, on every string of up to three characters from an alphabet of the characters
// each pattern treats apart, and on random longer ones.
func TestPatternMatchers(t *testing.T) {
	alphabet := []string{"A", "z", "0", "9", ".", "_", ":", "-", " ", "!", "~", "\x7f", "\x00", "é", "+", "/"}
	var inputs []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		inputs = append(inputs, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 3)
	rng := rand.New(rand.NewPCG(3, 5))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for pattern, match := range patternMatchers {
		re := regexp.MustCompile(pattern)
		for _, s := range inputs {
			if got, want := match(s), re.MatchString(s); got != want {
				t.Errorf("matcher for %s on %q = %v, regexp says %v", pattern, s, got, want)
			}
		}
	}
}

// BenchmarkValidateFact validates a production-shaped user message fact, with the fast
// check in front of protovalidate and with protovalidate alone.
func BenchmarkValidateFact(b *testing.B) {
	pv, err := protovalidate.New()
	if err != nil {
		b.Fatal(err)
	}
	f := &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
		BusinessId: "106540352242922", UserId: "5511987654321", Timestamp: timestamppb.Now(),
		MessageId: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBRjBCMjQ5N0Q2NjdCRjg2QTFCAA=="}}}
	for _, c := range []struct {
		name string
		v    protovalidate.Validator
	}{{"fast", newFastValidator(pv)}, {"protovalidate", pv}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.v.Validate(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
