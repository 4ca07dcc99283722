package devnet

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// object is a JSON object as a list of members in their original order,
// with raw values, so a rewritten block filter or an altered block keeps
// geth's shape and only the touched members change.
type object []member

type member struct {
	key   string
	value json.RawMessage
}

// parseObject decodes a JSON object; ok is false for anything else.
func parseObject(raw json.RawMessage) (object, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var o object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		o = append(o, member{key, v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	return o, true
}

// get returns a member's raw value.
func (o object) get(key string) (json.RawMessage, bool) {
	for _, m := range o {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// set replaces a member's value, or appends the member.
func (o *object) set(key string, v json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].value = v
			return
		}
	}
	*o = append(*o, member{key, v})
}

// update applies fn to a member's value if it is present.
func (o object) update(key string, fn func(json.RawMessage) json.RawMessage) {
	for i := range o {
		if o[i].key == key {
			o[i].value = fn(o[i].value)
		}
	}
}

// encode writes the object back as JSON.
func (o object) encode() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// jsonString decodes a JSON string value.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// quantityJSON encodes n as a JSON hex quantity string.
func quantityJSON(n uint64) json.RawMessage {
	return json.RawMessage(strconv.Quote(hexutil.EncodeUint64(n)))
}

// isNull reports whether raw is JSON null.
func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), nullJSON)
}
