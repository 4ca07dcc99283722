package plan

// Kind says how a call is executed.
type Kind uint8

const (
	// Forward sends the call to the best upstream, failing over.
	Forward Kind = iota
	// Local is answered by braid itself with no upstream call.
	Local
	// Static is forwarded once per network and the answer remembered: it
	// cannot change while the network is the same chain (net_version).
	Static
	// Write changes chain state (a signed transaction). It is never hedged.
	Write
	// FilterInstall creates a filter braid keeps itself.
	FilterInstall
	// FilterUse reads or removes a filter braid keeps.
	FilterUse
	// Subscribe needs a connection that can carry notifications.
	Subscribe
)

func (k Kind) String() string {
	switch k {
	case Forward:
		return "forward"
	case Local:
		return "local"
	case Static:
		return "static"
	case Write:
		return "write"
	case FilterInstall:
		return "filter_install"
	case FilterUse:
		return "filter_use"
	case Subscribe:
		return "subscribe"
	}
	return "unknown"
}

// Param is the shape braid checks a positional parameter against.
type Param uint8

const (
	Any      Param = iota // not checked
	Address               // 20-byte hex
	Hash                  // 32-byte hex
	Quantity              // hex number
	Data                  // even-length hex bytes
	Bool                  // true or false
	Object                // a JSON object (call, filter)
	Array                 // a JSON array
	// Block is a block number, a tag, a block hash, or an EIP-1898 object
	// {"blockHash": …} / {"blockNumber": …}.
	Block
	// BlockNumber is a block number or tag only (no hash).
	BlockNumber
	// Slot is a storage slot: a hex number or 32-byte hex.
	Slot
)

func (p Param) String() string {
	switch p {
	case Address:
		return "address"
	case Hash:
		return "hash"
	case Quantity:
		return "quantity"
	case Data:
		return "data"
	case Bool:
		return "bool"
	case Object:
		return "object"
	case Array:
		return "array"
	case Block:
		return "block"
	case BlockNumber:
		return "block number"
	case Slot:
		return "storage slot"
	}
	return "value"
}

// Method describes a method braid knows. Methods not in the table are
// forwarded unchecked.
type Method struct {
	Name string
	Kind Kind
	// Params lists the positional parameters; the first Required of them
	// must be present, the rest are optional.
	Params   []Param
	Required int
	// BlockParam is the index of the block parameter, or -1.
	BlockParam int
	// Class groups methods of similar cost for latency scoring and the
	// hedge delay.
	Class string
	// State: the method reads account state at a block (as opposed to
	// block history), which nodes keep for far fewer blocks.
	State bool
}

// Method classes.
const (
	ClassState = "state" // balances, code, storage, nonces, proofs
	ClassCall  = "call"  // eth_call, eth_estimateGas: EVM execution
	ClassBlock = "block" // blocks, headers, receipts of a block
	ClassTx    = "tx"    // transactions and receipts by hash
	ClassLogs  = "logs"
	ClassWrite = "write"
	ClassOther = "other"
)

var classes = map[string]string{
	"eth_getBalance": ClassState, "eth_getTransactionCount": ClassState, "eth_getCode": ClassState,
	"eth_getStorageAt": ClassState, "eth_getProof": ClassState,
	"eth_call": ClassCall, "eth_estimateGas": ClassCall, "eth_createAccessList": ClassCall,
	"eth_getBlockByNumber": ClassBlock, "eth_getBlockByHash": ClassBlock, "eth_getBlockReceipts": ClassBlock,
	"eth_getBlockTransactionCountByNumber": ClassBlock, "eth_getBlockTransactionCountByHash": ClassBlock,
	"eth_getUncleCountByBlockNumber": ClassBlock, "eth_getUncleCountByBlockHash": ClassBlock,
	"eth_getTransactionByHash": ClassTx, "eth_getTransactionReceipt": ClassTx,
	"eth_getTransactionByBlockHashAndIndex": ClassTx, "eth_getTransactionByBlockNumberAndIndex": ClassTx,
	"eth_getLogs": ClassLogs, "eth_getFilterLogs": ClassLogs, "eth_getFilterChanges": ClassLogs,
	"eth_sendRawTransaction": ClassWrite,
}

// ClassOf returns the class of any method name (known or not).
func ClassOf(method string) string {
	if c, ok := classes[method]; ok {
		return c
	}
	return ClassOther
}

func m(name string, kind Kind, required int, params ...Param) *Method {
	bp := -1
	for i, p := range params {
		if p == Block || p == BlockNumber {
			bp = i
			break
		}
	}
	class := ClassOf(name)
	return &Method{Name: name, Kind: kind, Params: params, Required: required, BlockParam: bp,
		Class: class, State: class == ClassState || class == ClassCall}
}

// methods is braid's table of known methods. Block parameters that
// go-ethereum requires are still optional here: an upstream applies its own
// default ("latest"), and later policies pin a missing block to the tip.
var methods = map[string]*Method{}

func init() {
	for _, mt := range []*Method{
		m("eth_chainId", Local, 0),
		m("web3_clientVersion", Local, 0),
		m("net_version", Static, 0),

		m("eth_blockNumber", Forward, 0),
		m("eth_syncing", Forward, 0),
		m("net_listening", Forward, 0),
		m("net_peerCount", Forward, 0),
		m("eth_gasPrice", Forward, 0),
		m("eth_maxPriorityFeePerGas", Forward, 0),
		m("eth_blobBaseFee", Forward, 0),
		m("eth_feeHistory", Forward, 2, Quantity, BlockNumber, Array),

		m("eth_getBalance", Forward, 1, Address, Block),
		m("eth_getTransactionCount", Forward, 1, Address, Block),
		m("eth_getCode", Forward, 1, Address, Block),
		m("eth_getStorageAt", Forward, 2, Address, Slot, Block),
		m("eth_getProof", Forward, 2, Address, Array, Block),
		m("eth_call", Forward, 1, Object, Block, Object, Object),
		m("eth_estimateGas", Forward, 1, Object, Block, Object, Object),
		m("eth_createAccessList", Forward, 1, Object, Block, Object),

		m("eth_getBlockByNumber", Forward, 1, BlockNumber, Bool),
		m("eth_getBlockByHash", Forward, 1, Hash, Bool),
		m("eth_getBlockReceipts", Forward, 1, Block),
		m("eth_getBlockTransactionCountByNumber", Forward, 1, BlockNumber),
		m("eth_getBlockTransactionCountByHash", Forward, 1, Hash),
		m("eth_getUncleCountByBlockNumber", Forward, 1, BlockNumber),
		m("eth_getUncleCountByBlockHash", Forward, 1, Hash),
		m("eth_getTransactionByHash", Forward, 1, Hash),
		m("eth_getTransactionReceipt", Forward, 1, Hash),
		m("eth_getTransactionByBlockHashAndIndex", Forward, 2, Hash, Quantity),
		m("eth_getTransactionByBlockNumberAndIndex", Forward, 2, BlockNumber, Quantity),
		m("eth_getLogs", Forward, 1, Object),

		m("eth_sendRawTransaction", Write, 1, Data),

		m("eth_newFilter", FilterInstall, 1, Object),
		m("eth_newBlockFilter", FilterInstall, 0),
		m("eth_newPendingTransactionFilter", FilterInstall, 0, Bool),
		m("eth_getFilterChanges", FilterUse, 1, Quantity),
		m("eth_getFilterLogs", FilterUse, 1, Quantity),
		m("eth_uninstallFilter", FilterUse, 1, Quantity),

		m("eth_subscribe", Subscribe, 1, Any, Any),
		m("eth_unsubscribe", Subscribe, 1, Any),
	} {
		methods[mt.Name] = mt
	}
}

// Lookup returns the known method name, or nil for one braid does not know
// (which is forwarded unchecked).
func Lookup(name string) *Method { return methods[name] }

// MethodLabel is a method's metric label: its name when braid knows it,
// "other" otherwise, so a client cannot mint series by inventing method
// names.
func MethodLabel(method string) string {
	if Lookup(method) != nil {
		return method
	}
	return "other"
}
