package block

import (
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestBlockJSON(t *testing.T) {
	b := Block{Number: 16, Hash: common.HexToHash("0x10"), ParentHash: common.HexToHash("0x0f")}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"number":"0x10","hash":"0x` + common.Bytes2Hex(b.Hash[:]) + `","parentHash":"0x` + common.Bytes2Hex(b.ParentHash[:]) + `"}`
	if string(data) != want {
		t.Fatalf("marshal: got %s, want %s", data, want)
	}
	var got Block
	if err := json.Unmarshal(data, &got); err != nil || got != b {
		t.Fatalf("round trip: got %+v, %v", got, err)
	}
	if data, _ := json.Marshal(Block{}); string(data) != "null" {
		t.Fatalf("unknown block: got %s, want null", data)
	}
	for _, bad := range []string{`{"number":"0x1","hash":"0x01"}`, `{"number":"0x1","hash":"0x0000000000000000000000000000000000000000000000000000000000000000","parentHash":"0x01"}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
