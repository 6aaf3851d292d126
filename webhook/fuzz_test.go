package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
)

// FuzzParse: Parse never panics, whatever the body; it returns either a *BodyError
// and nothing else, or items each holding exactly one of a Fact (with a kind,
// marshalable: valid UTF-8 strings) or a Problem with its Field, at a path inside the body.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "webhooks", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"entry":[]}`, `{"entry":[null,1,"x",[],{}]}`,
		`{"entry":[{"changes":[null,{"field":"messages","value":{"messages":[null,{}],"statuses":[{}],"calls":[{}]}}]}]}`,
		`{"entry":[{"changes":[{"field":"template_category_update","value":{"new_category":"utility","message_template_name":"t"}}],"id":"w","time":1e3}]}`,
		`{"entry":[{"changes":[{"field":"smb_message_echoes","value":{"metadata":{"phone_number_id":"p"},"message_echoes":[{"to":"1","id":"i","timestamp":"1"}]}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	v, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, ignored, err := Parse(body)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) || items != nil || ignored != 0 {
				t.Fatalf("error %v (%T) with %d items, %d ignored", err, err, len(items), ignored)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error text is not UTF-8: %q", err.Error())
			}
			return
		}
		if ignored < 0 {
			t.Fatalf("ignored = %d", ignored)
		}
		for _, it := range items {
			if !strings.HasPrefix(it.Path, "entry[") {
				t.Fatalf("item path %q", it.Path)
			}
			if (it.Fact == nil) == (it.Field == "" || it.Problem == "") {
				t.Fatalf("item %q: fact %v, field %q, problem %q; want a fact or a field and its problem", it.Path, it.Fact, it.Field, it.Problem)
			}
			if it.Fact == nil {
				if !utf8.ValidString(it.Field) || !utf8.ValidString(it.Problem) {
					t.Fatalf("item %q: error text is not UTF-8: %q: %q", it.Path, it.Field, it.Problem)
				}
				continue
			}
			if it.Fact.GetKind() == nil {
				t.Fatalf("item %q: fact without a kind", it.Path)
			}
			if _, err := proto.Marshal(it.Fact); err != nil {
				t.Fatalf("item %q: fact does not marshal: %v", it.Path, err)
			}
			_ = v.Validate(it.Fact) // the server's validation must not panic either
		}
	})
}
