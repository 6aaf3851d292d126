package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// Tolerant JSON access. Every level of the body is decoded on its own into
// json.RawMessage values, so a field of an unexpected type spoils only the item
// that holds it, never the whole body.

// obj is a JSON object whose values are decoded on demand.
type obj map[string]json.RawMessage

// object decodes raw as a JSON object; ok is false for anything else (null too).
func object(raw json.RawMessage) (obj, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var o obj
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, false
	}
	return o, true
}

// array decodes raw as a JSON array; ok is false for anything else (null too).
func array(raw json.RawMessage) ([]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, false
	}
	return a, true
}

// absent reports whether a field is missing or null.
func absent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// scalar returns a JSON string's value, or a JSON number's literal (ids and phone
// numbers are sometimes sent as numbers). ok is false for other types.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case c == '-' || c >= '0' && c <= '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// text is a field as text: "" when missing, null or empty; bad is set when the
// field is present with a type that is not a string or a number.
func (o obj) text(key string) (s string, bad bool) {
	raw := o[key]
	if absent(raw) {
		return "", false
	}
	s, ok := scalar(raw)
	if !ok {
		return "", true
	}
	return strings.TrimSpace(s), false
}

// str is text without the type check, for optional fields read best-effort.
func (o obj) str(key string) string {
	s, _ := o.text(key)
	return s
}

// maxUnix is 9999-12-31T23:59:59Z, the last second a protobuf Timestamp holds.
const maxUnix = 253402300799

// unixSeconds reads Meta's timestamps: Unix seconds as a string ("1671644824") or
// a number. The problem is empty when ok.
func unixSeconds(raw json.RawMessage) (ts *timestamppb.Timestamp, problem string) {
	if absent(raw) {
		return nil, "missing"
	}
	s, ok := scalar(raw)
	if !ok {
		return nil, fmt.Sprintf("%s is not Unix seconds", short(raw))
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || sec < 0 || sec > maxUnix {
		return nil, fmt.Sprintf("%s is not Unix seconds", short(raw))
	}
	return &timestamppb.Timestamp{Seconds: sec}, ""
}

// short quotes a raw JSON value for an error message, cut to a readable length.
// The result is valid UTF-8 whatever the input (it ends up in protobuf strings).
func short(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if v, ok := scalar(raw); ok {
			s = v
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
