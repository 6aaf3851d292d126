package server

import (
	"slices"
	"unicode/utf8"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
)

// protovalidate costs about 2 µs per fact (a tenth of a batched fact's CPU): its evaluators
// are general, and its `pattern` rules run Go's regexp over every id. fastRules answers the
// common case, a message that satisfies its rules, without it. It reads the same rules from
// the same descriptors, and supports a small subset of them: string min_len, max_len and the
// patterns of patternMatchers, enum defined_only and not_in, int32 gte, duration gte and
// lte, required message fields, required oneofs. A message that uses anything else, or a
// nested message that does, has no fast check. A fast check only ever accepts: anything it
// does not accept goes to protovalidate, so every violation reported, and its wording, is
// protovalidate's.
// fastvalid_test.go checks both against each other on generated messages of every type the
// API has, and each pattern matcher against the regular expression it replaces.
type fastRules struct {
	byType map[protoreflect.MessageDescriptor]*msgRules // nil entry: no fast check
}

// fastValidator is protovalidate with fastRules in front, for every message of the API.
type fastValidator struct {
	fast *fastRules
	protovalidate.Validator
}

func newFastValidator(v protovalidate.Validator) fastValidator {
	var msgs []protoreflect.MessageDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage(apiPackage, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Messages().Len() {
			msgs = append(msgs, fd.Messages().Get(i))
		}
		return true
	})
	return fastValidator{fast: newFastRules(msgs...), Validator: v}
}

// apiPackage is the package of the API's messages.
const apiPackage = "convstate.v1"

func (v fastValidator) Validate(m proto.Message, opts ...protovalidate.ValidationOption) error {
	if len(opts) == 0 && v.fast.valid(m) {
		return nil
	}
	return v.Validator.Validate(m, opts...)
}

// msgRules are one message type's rules, in the supported subset.
type msgRules struct {
	fields []fieldRules // outside oneofs
	oneofs []oneofRules
}

// oneofRules are a oneof's: whether one member must be set, and the members' own rules
// (only the member set is checked).
type oneofRules struct {
	od       protoreflect.OneofDescriptor
	required bool
	members  []fieldRules
}

// fieldRules are one field's rules; which kind of field it is says which of them apply.
type fieldRules struct {
	fd       protoreflect.FieldDescriptor
	required bool
	nested   *msgRules // a message field: its type's rules

	str            bool // a string field
	minLen, maxLen int  // in runes; maxLen -1: none
	pattern        func(string) bool

	enumValues  protoreflect.EnumValueDescriptors // an enum field
	enumDefined bool
	enumNotIn   []int32

	int32Gte *int32 // an int32 field

	durGte, durLte *durationpb.Duration // a Duration field; nil: no bound
}

const durationName = "google.protobuf.Duration"

// patternMatchers replace Go's regexp for the API's patterns, keyed by the pattern's text.
var patternMatchers = map[string]func(string) bool{
	`^([A-Za-z0-9][A-Za-z0-9._:-]*)?$`: func(s string) bool {
		for i := 0; i < len(s); i++ {
			c := s[i]
			alnum := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
			if !alnum && (i == 0 || c != '.' && c != '_' && c != ':' && c != '-') {
				return false
			}
		}
		return true
	},
	`^[!-~]*$`: func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '!' || s[i] > '~' {
				return false
			}
		}
		return true
	},
}

// newFastRules compiles the fast checks of msgs' types and of the types they nest.
func newFastRules(msgs ...protoreflect.MessageDescriptor) *fastRules {
	f := &fastRules{byType: map[protoreflect.MessageDescriptor]*msgRules{}}
	for _, md := range msgs {
		f.compile(md)
	}
	return f
}

// valid reports whether m certainly satisfies its rules; false says nothing.
func (f *fastRules) valid(m proto.Message) bool {
	r := m.ProtoReflect()
	mr := f.byType[r.Descriptor()]
	return mr != nil && mr.valid(r)
}

// compile returns md's rules, or nil if md uses a rule outside the subset.
func (f *fastRules) compile(md protoreflect.MessageDescriptor) *msgRules {
	if mr, seen := f.byType[md]; seen {
		return mr // nil while md is being compiled: recursive types get no fast check
	}
	f.byType[md] = nil
	if !only(proto.GetExtension(md.Options(), validate.E_Message).(*validate.MessageRules)) {
		return nil
	}
	mr := &msgRules{}
	oneofs := md.Oneofs()
	for i := range oneofs.Len() {
		od := oneofs.Get(i)
		if od.IsSynthetic() { // a proto3 optional field: an ordinary one below
			continue
		}
		or := proto.GetExtension(od.Options(), validate.E_Oneof).(*validate.OneofRules)
		if !only(or, "required") {
			return nil
		}
		o := oneofRules{od: od, required: or.GetRequired()}
		members := od.Fields()
		for j := range members.Len() {
			fr, ok := f.compileField(members.Get(j))
			if !ok {
				return nil
			}
			if fr != nil {
				o.members = append(o.members, *fr)
			}
		}
		if o.required || len(o.members) > 0 {
			mr.oneofs = append(mr.oneofs, o)
		}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			continue // above
		}
		fr, ok := f.compileField(fd)
		if !ok {
			return nil
		}
		if fr != nil {
			mr.fields = append(mr.fields, *fr)
		}
	}
	f.byType[md] = mr
	return mr
}

// compileField returns fd's rules (nil: none to check), and false if they are outside the
// subset.
func (f *fastRules) compileField(fd protoreflect.FieldDescriptor) (*fieldRules, bool) {
	rules := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	if !only(rules, "required", "string", "enum", "int32", "duration") {
		return nil, false
	}
	fr := &fieldRules{fd: fd, required: rules.GetRequired(), maxLen: -1}
	switch {
	case fd.IsList() || fd.IsMap():
		return nil, !fr.required && rules.GetType() == nil && !hasMessages(fd)
	case fd.Message() != nil:
		if d, ok := rules.GetType().(*validate.FieldRules_Duration); ok && fd.Message().FullName() == durationName {
			if !only(d.Duration, "gte", "lte") {
				return nil, false
			}
			fr.durGte, fr.durLte = d.Duration.GetGte(), d.Duration.GetLte()
			return fr, true
		}
		if rules.GetType() != nil {
			return nil, false
		}
		if fr.nested = f.compile(fd.Message()); fr.nested == nil {
			return nil, false
		}
		if !fr.required && len(fr.nested.fields) == 0 && len(fr.nested.oneofs) == 0 {
			return nil, true // a message without rules, a Timestamp say: nothing to check
		}
		return fr, true
	case fr.required: // required scalars: not in the subset
		return nil, false
	}
	switch t := rules.GetType().(type) {
	case nil:
		return nil, true
	case *validate.FieldRules_String_:
		s := t.String_
		if fd.Kind() != protoreflect.StringKind || !only(s, "min_len", "max_len", "pattern") {
			return nil, false
		}
		fr.str, fr.minLen = true, int(s.GetMinLen())
		if s.HasMaxLen() {
			fr.maxLen = int(s.GetMaxLen())
		}
		if s.HasPattern() {
			if fr.pattern = patternMatchers[s.GetPattern()]; fr.pattern == nil {
				return nil, false
			}
		}
	case *validate.FieldRules_Enum:
		e := t.Enum
		if fd.Kind() != protoreflect.EnumKind || !only(e, "defined_only", "not_in") {
			return nil, false
		}
		fr.enumDefined, fr.enumNotIn, fr.enumValues = e.GetDefinedOnly(), e.GetNotIn(), fd.Enum().Values()
	case *validate.FieldRules_Int32:
		n := t.Int32
		if fd.Kind() != protoreflect.Int32Kind || !only(n, "gte") {
			return nil, false
		}
		gte := n.GetGte()
		fr.int32Gte = &gte
	default:
		return nil, false
	}
	return fr, true
}

// hasMessages reports whether a list or map field holds messages, whose own rules
// protovalidate would check.
func hasMessages(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return fd.MapValue().Message() != nil
	}
	return fd.Message() != nil
}

// only reports whether m sets no field but the named ones (and no extension or unknown
// field, which would be rules this build does not know).
func only(m proto.Message, names ...protoreflect.Name) bool {
	r := m.ProtoReflect()
	if !r.IsValid() {
		return true
	}
	ok := len(r.GetUnknown()) == 0
	r.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		ok = !fd.IsExtension() && slices.Contains(names, fd.Name())
		return ok
	})
	return ok
}

func (mr *msgRules) valid(m protoreflect.Message) bool {
	for i := range mr.oneofs {
		o := &mr.oneofs[i]
		fd := m.WhichOneof(o.od)
		if fd == nil {
			if o.required {
				return false
			}
			continue
		}
		for j := range o.members {
			if o.members[j].fd == fd && !o.members[j].valid(m) {
				return false
			}
		}
	}
	for i := range mr.fields {
		if !mr.fields[i].valid(m) {
			return false
		}
	}
	return true
}

func (fr *fieldRules) valid(m protoreflect.Message) bool {
	fd := fr.fd
	if fr.durGte != nil || fr.durLte != nil {
		if !m.Has(fd) {
			return !fr.required
		}
		return durationWithin(m.Get(fd).Message(), fr.durGte, fr.durLte)
	}
	if fr.nested != nil {
		if !m.Has(fd) {
			return !fr.required
		}
		return fr.nested.valid(m.Get(fd).Message())
	}
	// Rules on a field with presence apply only when it is set; without presence, always.
	if fd.HasPresence() && !m.Has(fd) {
		return true
	}
	v := m.Get(fd)
	switch {
	case fr.str:
		// The bounds count runes, never more than bytes: count them only when the bytes
		// do not settle it.
		s := v.String()
		n := len(s)
		if fr.maxLen >= 0 && n > fr.maxLen || fr.minLen > 1 && n >= fr.minLen {
			n = utf8.RuneCountInString(s)
		}
		return n >= fr.minLen && (fr.maxLen < 0 || n <= fr.maxLen) && (fr.pattern == nil || fr.pattern(s))
	case fr.enumValues != nil:
		e := int32(v.Enum())
		return (!fr.enumDefined || fr.enumValues.ByNumber(protoreflect.EnumNumber(e)) != nil) && !slices.Contains(fr.enumNotIn, e)
	case fr.int32Gte != nil:
		return int32(v.Int()) >= *fr.int32Gte
	}
	return true
}

// durationWithin reports whether d, a google.protobuf.Duration, is a valid duration within
// [gte, lte] (nil: unbounded). An invalid one (seconds and nanos of different signs, out of
// range) is left to protovalidate.
func durationWithin(d protoreflect.Message, gte, lte *durationpb.Duration) bool {
	fields := d.Descriptor().Fields()
	v := &durationpb.Duration{Seconds: d.Get(fields.ByNumber(1)).Int(), Nanos: int32(d.Get(fields.ByNumber(2)).Int())}
	if v.CheckValid() != nil {
		return false
	}
	less := func(a, b *durationpb.Duration) bool {
		return a.GetSeconds() < b.GetSeconds() || a.GetSeconds() == b.GetSeconds() && a.GetNanos() < b.GetNanos()
	}
	return (gte == nil || !less(v, gte)) && (lte == nil || !less(lte, v))
}
