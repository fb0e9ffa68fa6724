// The restricted unpickler of pickle.h: a stack machine over the opcodes torch.save emits,
// building values in an arena. Globals resolve against a fixed table; a REDUCE may only
// call one of the three callables that table holds.
#include "frontend/pickle.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "ir/error.h"
#include "ir/verifier.h"

namespace kiln::frontend {

namespace {

constexpr TorchStorageType kStorageTypes[] = {
    {"FloatStorage", DType::F32, 4},       {"HalfStorage", DType::F16, 2},
    {"BFloat16Storage", DType::BF16, 2},   {"DoubleStorage", DType::F64, 8},
    {"LongStorage", DType::I64, 8},        {"IntStorage", DType::I32, 4},
    {"ShortStorage", DType::I32, 2},       {"CharStorage", DType::I8, 1},
    {"ByteStorage", DType::U8, 1},         {"BoolStorage", DType::Bool, 1},
    {"ComplexFloatStorage", DType::C64, 8}};

// The callables a checkpoint may name, as PickleValue::integer of a Global.
enum Callable : int64_t { kOrderedDict = 1, kRebuildTensor, kRebuildParameter, kStorageType };

using Kind = PickleValue::Kind;

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> bytes, const std::string& what) : in_(bytes), what_(what) {}

  Unpickled run() {
    for (;;) {
      uint8_t op = byte();
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1 || !marks_.empty())
      fail("the pickle ends with " + std::to_string(stack_.size()) + " values on its stack");
    out_.root = stack_.back();
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw IOError(what_ + ": malformed checkpoint pickle at byte " + std::to_string(op_at_) + ": " +
                  why);
  }

  // --- input
  std::span<const std::byte> take(uint64_t n) {
    if (n > in_.size() - pos_) fail("truncated (needs " + std::to_string(n) + " more bytes)");
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  uint8_t byte() { return static_cast<uint8_t>(take(1)[0]); }
  uint64_t unsigned_le(int n) {
    auto b = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[i]);
    return v;
  }
  std::string text(uint64_t n) {
    auto b = take(n);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::string line() {
    size_t end = pos_;
    while (end < in_.size() && static_cast<char>(in_[end]) != '\n') ++end;
    if (end == in_.size()) fail("a GLOBAL name has no end of line");
    std::string out = text(end - pos_);
    ++pos_;
    return out;
  }

  // --- values and the stack
  uint32_t make(PickleValue v) {
    out_.values.push_back(std::move(v));
    return static_cast<uint32_t>(out_.values.size() - 1);
  }
  uint32_t make(Kind kind) {
    PickleValue v;
    v.kind = kind;
    return make(std::move(v));
  }
  uint32_t make_int(int64_t i, Kind kind = Kind::Int) {
    PickleValue v;
    v.kind = kind;
    v.integer = i;
    return make(std::move(v));
  }
  uint32_t make_text(std::string s, Kind kind) {
    PickleValue v;
    v.kind = kind;
    v.text = std::move(s);
    return make(std::move(v));
  }
  PickleValue& at(uint32_t i) { return out_.values[i]; }
  void push(uint32_t v) { stack_.push_back(v); }
  uint32_t pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("pops an empty stack");
    uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("reads an empty stack");
    return stack_.back();
  }
  // The values above the last mark, removed with it.
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> out(stack_.begin() + static_cast<ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return out;
  }
  uint32_t make_sequence(Kind kind, std::vector<uint32_t> items) {
    PickleValue v;
    v.kind = kind;
    v.items = std::move(items);
    return make(std::move(v));
  }
  PickleValue& container(uint32_t i, Kind kind, const char* op) {
    if (at(i).kind != kind)
      fail(std::string(op) + " on something that is not a " +
           (kind == Kind::Dict ? "dict" : "list"));
    return at(i);
  }
  void memo_put(uint64_t key) {
    if (stack_.empty()) fail("memoizes an empty stack");
    memo_[key] = stack_.back();
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  // --- what the values mean
  int64_t as_int(uint32_t i, const char* what) {
    if (at(i).kind != Kind::Int && at(i).kind != Kind::Bool)
      fail(std::string(what) + " is not an integer");
    return at(i).integer;
  }
  std::vector<int64_t> as_ints(uint32_t i, const char* what) {
    if (at(i).kind != Kind::Tuple && at(i).kind != Kind::List)
      fail(std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (uint32_t item : std::vector<uint32_t>(at(i).items)) out.push_back(as_int(item, what));
    return out;
  }

  void global(const std::string& module, const std::string& name) {
    std::string full = module + "." + name;
    PickleValue v;
    v.kind = Kind::Global;
    v.text = full;
    if (full == "collections.OrderedDict") {
      v.integer = kOrderedDict;
    } else if (full == "torch._utils._rebuild_tensor_v2") {
      v.integer = kRebuildTensor;
    } else if (full == "torch._utils._rebuild_parameter" ||
               full == "torch._utils._rebuild_parameter_with_state") {
      v.integer = kRebuildParameter;
    } else {
      for (const TorchStorageType& t : kStorageTypes)
        if (module == "torch" && name == t.name) {
          v.integer = kStorageType;
          v.storage = static_cast<uint32_t>(&t - kStorageTypes);
        }
      if (!v.integer)
        throw IOError(what_ + ": checkpoint refers to global '" + full +
                      "': not allowed (a checkpoint may only hold tensors, storages, "
                      "OrderedDicts and plain values; kiln never runs code from a file)");
    }
    push(make(std::move(v)));
  }

  // BINPERSID: ('storage', torch.XStorage, key, location, numel).
  void persistent_id() {
    uint32_t pid = pop();
    const PickleValue& t = at(pid);
    if (t.kind != Kind::Tuple || t.items.size() != 5 || at(t.items[0]).kind != Kind::String ||
        at(t.items[0]).text != "storage")
      fail("a persistent id that is not ('storage', type, key, location, numel)");
    const PickleValue& type = at(t.items[1]);
    if (type.kind != Kind::Global || type.integer != kStorageType)
      fail("a storage whose type is not a torch storage type");
    if (at(t.items[2]).kind != Kind::String) fail("a storage key that is not a string");
    int64_t numel = as_int(t.items[4], "a storage's size");
    if (numel < 0) fail("a storage of negative size");
    const std::string& key = at(t.items[2]).text;
    const TorchStorageType* st = &kStorageTypes[type.storage];
    // The same key names the same storage: tensors that share it are views of one array.
    auto it = storage_by_key_.find(key);
    if (it != storage_by_key_.end()) {
      const TorchStorage& s = out_.storages[it->second];
      if (s.type != st || s.numel != numel)
        fail("storage '" + key + "' is described twice, differently");
      push(make_int(static_cast<int64_t>(it->second), Kind::Storage));
      return;
    }
    storage_by_key_[key] = out_.storages.size();
    out_.storages.push_back({key, st, numel});
    push(make_int(static_cast<int64_t>(out_.storages.size() - 1), Kind::Storage));
  }

  uint32_t rebuild_tensor(const std::vector<uint32_t>& args) {
    if (args.size() < 4) fail("_rebuild_tensor_v2 with fewer than 4 arguments");
    if (at(args[0]).kind != Kind::Storage) fail("_rebuild_tensor_v2 of something not a storage");
    PickleValue v;
    v.kind = Kind::Tensor;
    v.storage = static_cast<uint32_t>(at(args[0]).integer);
    v.offset = as_int(args[1], "a tensor's storage offset");
    std::vector<int64_t> size = as_ints(args[2], "a tensor's size");
    v.strides = as_ints(args[3], "a tensor's stride");
    if (size.size() != v.strides.size()) fail("a tensor whose size and stride differ in rank");
    if (static_cast<int>(size.size()) > kMaxRank)
      fail("a tensor of rank " + std::to_string(size.size()) + ", more than kiln's " +
           std::to_string(kMaxRank));
    v.shape = Shape(size.begin(), size.end());
    const TorchStorage& s = out_.storages[v.storage];
    for (size_t d = 0; d < size.size(); ++d)
      if (size[d] < 0 || v.strides[d] < 0) fail("a tensor with a negative size or stride");
    if (v.offset < 0) fail("a tensor with a negative storage offset");
    // In the wider of the file's element and kiln's (int16 is read as i32).
    if (ir::size_overflows(
            v.shape, static_cast<int64_t>(std::max(s.type->file_size, dtype_size(s.type->dtype)))))
      fail("a tensor too large for int64 sizes");
    // The last element a view reaches must lie inside its storage.
    if (numel(v.shape) > 0) {
      int64_t last = v.offset;
      for (size_t d = 0; d < size.size(); ++d) {
        if (v.strides[d] > 0 && size[d] - 1 > (INT64_MAX - last) / v.strides[d])
          fail("a tensor view whose extent overflows int64");
        last += (size[d] - 1) * v.strides[d];
      }
      if (last >= s.numel)
        fail("a tensor view reaching element " + std::to_string(last) + " of storage '" + s.key +
             "', which holds " + std::to_string(s.numel));
    }
    return make(std::move(v));
  }

  // REDUCE: callable(*args), for the three callables a checkpoint may name.
  void reduce() {
    uint32_t args = pop();
    uint32_t callable = pop();
    if (at(callable).kind != Kind::Global) fail("REDUCE calls something that is not a global");
    if (at(args).kind != Kind::Tuple) fail("REDUCE's arguments are not a tuple");
    std::vector<uint32_t> a = at(args).items;
    switch (at(callable).integer) {
      case kOrderedDict: {
        // OrderedDict() or OrderedDict([(key, value), ...]).
        uint32_t dict = make(Kind::Dict);
        if (a.size() > 1) fail("OrderedDict with more than one argument");
        if (a.size() == 1) {
          if (at(a[0]).kind != Kind::List && at(a[0]).kind != Kind::Tuple)
            fail("OrderedDict of something that is not a list of pairs");
          for (uint32_t pair : std::vector<uint32_t>(at(a[0]).items)) {
            if (at(pair).kind != Kind::Tuple || at(pair).items.size() != 2)
              fail("OrderedDict of something that is not a list of pairs");
            at(dict).items.push_back(at(pair).items[0]);
            at(dict).items.push_back(at(pair).items[1]);
          }
        }
        push(dict);
        return;
      }
      case kRebuildTensor: push(rebuild_tensor(a)); return;
      case kRebuildParameter:
        if (a.empty() || at(a[0]).kind != Kind::Tensor)
          fail("_rebuild_parameter of something that is not a tensor");
        push(a[0]);
        return;
      default: fail("REDUCE calls '" + at(callable).text + "', which is not callable");
    }
  }

  void step(uint8_t op) {
    op_at_ = pos_ - 1;
    switch (op) {
      case 0x80: {  // PROTO
        int v = byte();
        if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v) + " (kiln reads 2 to 5)");
        return;
      }
      case 0x95: take(8); return;  // FRAME: a length hint only
      case '(': marks_.push_back(stack_.size()); return;
      case ')': push(make(Kind::Tuple)); return;
      case ']': push(make(Kind::List)); return;
      case '}': push(make(Kind::Dict)); return;
      case 0x8f: push(make(Kind::List)); return;  // EMPTY_SET, kept as a list
      case 'N': push(make(Kind::None)); return;
      case 0x88: push(make_int(1, Kind::Bool)); return;
      case 0x89: push(make_int(0, Kind::Bool)); return;
      case 'J': push(make_int(static_cast<int32_t>(unsigned_le(4)))); return;
      case 'K': push(make_int(byte())); return;
      case 'M': push(make_int(static_cast<int64_t>(unsigned_le(2)))); return;
      case 0x8a: long_int(byte()); return;          // LONG1
      case 0x8b: long_int(unsigned_le(4)); return;  // LONG4
      case 'G': {                                   // BINFLOAT, big-endian
        auto b = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(b[i]);
        PickleValue v;
        v.kind = Kind::Float;
        v.number = std::bit_cast<double>(bits);
        push(make(std::move(v)));
        return;
      }
      case 'X': push(make_text(text(unsigned_le(4)), Kind::String)); return;   // BINUNICODE
      case 0x8c: push(make_text(text(byte()), Kind::String)); return;          // SHORT_BINUNICODE
      case 0x8d: push(make_text(text(unsigned_le(8)), Kind::String)); return;  // BINUNICODE8
      case 'T': push(make_text(text(unsigned_le(4)), Kind::Bytes)); return;    // BINSTRING
      case 'U': push(make_text(text(byte()), Kind::Bytes)); return;            // SHORT_BINSTRING
      case 'B': push(make_text(text(unsigned_le(4)), Kind::Bytes)); return;    // BINBYTES
      case 'C': push(make_text(text(byte()), Kind::Bytes)); return;            // SHORT_BINBYTES
      case 0x8e:
      case 0x96:  // BINBYTES8, BYTEARRAY8
        push(make_text(text(unsigned_le(8)), Kind::Bytes));
        return;
      case 'q': memo_put(byte()); return;          // BINPUT
      case 'r': memo_put(unsigned_le(4)); return;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); return;   // MEMOIZE
      case 'h': memo_get(byte()); return;          // BINGET
      case 'j': memo_get(unsigned_le(4)); return;  // LONG_BINGET
      case 'c': {                                  // GLOBAL
        std::string module = line();
        global(module, line());
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        uint32_t name = pop(), module = pop();
        if (at(module).kind != Kind::String || at(name).kind != Kind::String)
          fail("STACK_GLOBAL of something that is not two strings");
        global(at(module).text, at(name).text);
        return;
      }
      case 'Q': persistent_id(); return;
      case 'R': reduce(); return;
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only an OrderedDict subclass's form
        uint32_t args = pop(), cls = pop();
        (void)args;
        if (at(cls).kind != Kind::Global || at(cls).integer != kOrderedDict)
          fail("NEWOBJ of something other than collections.OrderedDict");
        push(make(Kind::Dict));
        return;
      }
      case 'b': {  // BUILD: an OrderedDict's attributes (state_dict's _metadata), dropped
        pop();
        if (at(top()).kind != Kind::Dict) fail("BUILD on something that is not a dict");
        return;
      }
      case 't': push(make_sequence(Kind::Tuple, pop_mark())); return;
      case 0x85: tuple_of(1); return;
      case 0x86: tuple_of(2); return;
      case 0x87: tuple_of(3); return;
      case 'a': {  // APPEND
        uint32_t v = pop();
        container(top(), Kind::List, "APPEND").items.push_back(v);
        return;
      }
      case 'e':
      case 0x90: {  // APPENDS, ADDITEMS
        std::vector<uint32_t> items = pop_mark();
        auto& list = container(top(), Kind::List, "APPENDS").items;
        list.insert(list.end(), items.begin(), items.end());
        return;
      }
      case 0x91: push(make_sequence(Kind::List, pop_mark())); return;  // FROZENSET
      case 's': {                                                      // SETITEM
        uint32_t value = pop(), key = pop();
        auto& dict = container(top(), Kind::Dict, "SETITEM").items;
        dict.push_back(key);
        dict.push_back(value);
        return;
      }
      case 'u': {  // SETITEMS
        std::vector<uint32_t> items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of values");
        auto& dict = container(top(), Kind::Dict, "SETITEMS").items;
        dict.insert(dict.end(), items.begin(), items.end());
        return;
      }
      case '0': pop(); return;        // POP
      case '1': pop_mark(); return;   // POP_MARK
      case '2': push(top()); return;  // DUP
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("opcode ") + hex +
             " is not one kiln reads (torch.save writes protocol 2 and newer)");
      }
    }
  }

  void tuple_of(size_t n) {
    std::vector<uint32_t> items(n);
    for (size_t i = n; i-- > 0;) items[i] = pop();
    push(make_sequence(Kind::Tuple, std::move(items)));
  }

  // LONG1 / LONG4: a little-endian two's-complement integer of n bytes.
  void long_int(uint64_t n) {
    if (n > 8) fail("an integer of " + std::to_string(n) + " bytes (kiln reads up to 8)");
    auto b = take(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(b[i]);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
    push(make_int(static_cast<int64_t>(v)));
  }

  std::span<const std::byte> in_;
  const std::string& what_;
  size_t pos_ = 0, op_at_ = 0;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::unordered_map<std::string, size_t> storage_by_key_;
  Unpickled out_;
};

}  // namespace

Unpickled unpickle_checkpoint(std::span<const std::byte> bytes, const std::string& what) {
  return Unpickler(bytes, what).run();
}

}  // namespace kiln::frontend
