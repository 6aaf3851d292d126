package replay

import (
	"testing"

	"buf.build/go/protovalidate"
)

// FuzzParse: the replay reader never panics; a line it accepts is one of the
// three kinds, fully built.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"user_message","business":"B","user":"5511987654321","id":"u1","at":"2025-07-03T10:00:00Z","entry_point":"ctwa_ad"}`,
		`{"type":"send","business":"B","user":"5511987654321","id":"m1","at":"2025-07-03T10:00:00Z","template":"utility"}`,
		`{"type":"status","business":"B","id":"m1","status":"failed","at":"2025-07-03T10:00:00Z","error_code":131047}`,
		`{"type":"status","business":"B","id":"m1","status":"read","at":"2025-07-03T10:00:00Z","error_code":"1"}`,
		`{"type":"check","business":"B","user":"US.1","template":"marketing"}`,
		`{"type":"business","business":"B","timezone":"America/Sao_Paulo","auth_international_start":"2024-06-01T00:00:00Z"}`,
		`{"type":"user_call"}`, `{}`, `[]`, `{"type":1}`, `# comment`,
	} {
		f.Add([]byte(s))
	}
	v, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if Skip(line) {
			return
		}
		p, err := Parse(line)
		if err != nil {
			return
		}
		switch p.Kind {
		case KindFact:
			if p.Fact.GetKind() == nil {
				t.Fatalf("fact without a kind from %q", line)
			}
			_ = v.Validate(p.Fact) // must not panic
		case KindCheck:
			if p.Check == nil {
				t.Fatalf("check without a request from %q", line)
			}
		case KindBusiness:
			if p.Business == nil {
				t.Fatalf("business without a profile from %q", line)
			}
		default:
			t.Fatalf("unknown kind %d from %q", p.Kind, line)
		}
	})
}
