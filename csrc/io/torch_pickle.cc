// The weights-only pickle machine (see torch_pickle.h): a stack, a mark stack and a memo of
// plain values; the allow-listed globals are names, and the only "calls" are the few
// constructors a state_dict needs, each interpreted here from its checked arguments.
#include "io/torch_pickle.h"

#include <cstring>
#include <iomanip>
#include <sstream>

#include "core/error.h"

namespace vlv::io::pickle {

namespace {

constexpr size_t kMaxPickleBytes = size_t(256) << 20;
constexpr size_t kMaxStack = size_t(1) << 20;
constexpr size_t kMaxMemo = size_t(1) << 24;
constexpr int kMaxDepth = 256;

// Globals a state_dict needs. Everything else is refused when the GLOBAL opcode names it.
const char* const kAllowedGlobals[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.FloatStorage",
    "torch.DoubleStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
};

bool allowed_global(const std::string& name) {
  for (const char* g : kAllowedGlobals)
    if (name == g) return true;
  return false;
}

// Opcode names, for the refusals.
const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::string hex_byte(uint8_t b) {
  std::ostringstream os;
  os << "0x" << std::hex << std::setw(2) << std::setfill('0') << int(b);
  return os.str();
}

// The dict index key of a str or int key; empty for other kinds (not indexed).
std::string index_key(const Value& k) {
  if (k.kind == Kind::Str) return "s" + k.text;
  if (k.kind == Kind::Int) return "i" + std::to_string(k.integer);
  return {};
}

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const std::string& where, const PersistentLoad& persistent_load)
      : p_(data), size_(size), where_(where), persistent_load_(persistent_load) {}

  Ref run() {
    if (size_ > kMaxPickleBytes) bad("a ", size_, "-byte pickle is larger than the ", kMaxPickleBytes, " allowed");
    if (size_ < 2 || p_[0] != 0x80) bad("not a pickle of protocol 2 or newer (no PROTO opcode at byte 0)");
    for (;;) {
      op_at_ = pos_;
      uint8_t op = byte();
      switch (op) {
        case 0x80: {
          uint8_t v = byte();
          if (v < 2 || v > 5) bad("pickle protocol ", int(v), " is not supported (2 to 5 are)");
          break;
        }
        case 0x95: take(8); break;  // FRAME: a length hint only
        case '.': return stop();
        case '(':
          if (marks_.size() >= size_t(kMaxDepth)) bad("marks nest deeper than ", kMaxDepth);
          marks_.push_back(stack_.size());
          break;
        case '0': pop(); break;
        case '1': pop_mark(); break;
        case '2': push(top()); break;
        case 'N': push(make(Kind::None)); break;
        case 0x88: push(make_bool(true)); break;
        case 0x89: push(make_bool(false)); break;
        case 'J': push(make_int(int32_t(le(4)))); break;
        case 'K': push(make_int(int64_t(le(1)))); break;
        case 'M': push(make_int(int64_t(le(2)))); break;
        case 0x8a: push(long_int(le(1))); break;
        case 0x8b: push(long_int(le(4))); break;
        case 'G': push(binfloat()); break;
        case 'X': push(text(Kind::Str, le(4))); break;
        case 0x8c: push(text(Kind::Str, le(1))); break;
        case 0x8d: push(text(Kind::Str, le(8))); break;
        case 'U': push(text(Kind::Str, le(1))); break;  // Python 2 str
        case 'T': push(text(Kind::Str, le(4))); break;
        case 'C': push(text(Kind::Bytes, le(1))); break;
        case 'B': push(text(Kind::Bytes, le(4))); break;
        case 0x8e: push(text(Kind::Bytes, le(8))); break;
        case ')': push(make(Kind::Tuple)); break;
        case 0x85: push(tuple_of_top(1)); break;
        case 0x86: push(tuple_of_top(2)); break;
        case 0x87: push(tuple_of_top(3)); break;
        case 't': push(container_from_mark(Kind::Tuple)); break;
        case ']': push(make(Kind::List)); break;
        case 'l': push(container_from_mark(Kind::List)); break;
        case '}': push(make(Kind::Dict)); break;
        case 'd': push(dict_from_mark()); break;
        case 'a': append(); break;
        case 'e': appends(); break;
        case 's': setitem(); break;
        case 'u': setitems(); break;
        case 'c': global_text(); break;
        case 0x93: stack_global(); break;
        case 'R': reduce(); break;
        case 'b': build(); break;
        case 0x81: newobj(); break;
        case 'Q': binpersid(); break;
        case 'h': get(le(1)); break;
        case 'j': get(le(4)); break;
        case 'q': put(le(1)); break;
        case 'r': put(le(4)); break;
        case 0x94: put(memo_.size()); break;
        default: {
          const char* name = opcode_name(op);
          if (name) bad("opcode ", hex_byte(op), " (", name, ") is not allowed in a weights-only checkpoint");
          bad("unknown opcode ", hex_byte(op));
        }
      }
    }
  }

 private:
  const uint8_t* p_;
  size_t size_, pos_ = 0, op_at_ = 0;
  const std::string& where_;
  const PersistentLoad& persistent_load_;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;

  template <class... A>
  [[noreturn]] void bad(const A&... parts) const {
    fail(ErrorCode::FileFormat, where_, ": ", parts..., " (at byte ", op_at_, ")");
  }

  uint8_t byte() {
    if (pos_ >= size_) bad("the pickle ends without a STOP opcode");
    return p_[pos_++];
  }
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) bad("the pickle ends inside an opcode's argument (", n, " bytes wanted)");
    const uint8_t* at = p_ + pos_;
    pos_ += size_t(n);
    return at;
  }
  uint64_t le(int n) {
    const uint8_t* b = take(uint64_t(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }

  static Ref make(Kind k) {
    Ref v = std::make_shared<Value>();
    v->kind = k;
    return v;
  }
  static Ref make_bool(bool b) {
    Ref v = make(Kind::Bool);
    v->boolean = b;
    return v;
  }
  static Ref make_int(int64_t i) {
    Ref v = make(Kind::Int);
    v->integer = i;
    return v;
  }
  Ref long_int(uint64_t n) {  // LONG1 / LONG4: n little-endian two's-complement bytes
    if (n > 8) bad("an integer of ", n, " bytes does not fit 64 bits");
    const uint8_t* b = take(n);
    uint64_t v = 0;
    for (int i = int(n) - 1; i >= 0; --i) v = (v << 8) | b[i];
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    return make_int(int64_t(v));
  }
  Ref binfloat() {
    uint64_t bits = 0;
    const uint8_t* b = take(8);
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];  // big-endian
    Ref v = make(Kind::Float);
    std::memcpy(&v->number, &bits, 8);
    return v;
  }
  Ref text(Kind k, uint64_t n) {
    const uint8_t* b = take(n);
    Ref v = make(k);
    v->text.assign(reinterpret_cast<const char*>(b), size_t(n));
    return v;
  }

  void push(Ref v) {
    if (stack_.size() >= kMaxStack) bad("the stack holds more than ", kMaxStack, " values");
    stack_.push_back(std::move(v));
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  const Ref& top() const {
    if (stack_.size() <= floor()) bad("the stack is empty");
    return stack_.back();
  }
  Ref pop() {
    Ref v = top();
    stack_.pop_back();
    return v;
  }
  // The values above the last mark, removing them and the mark.
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) bad("no mark to pop to");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(stack_.begin() + long(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  // Puts child inside parent: the child is sealed (immutable from now on) and the depth grows.
  void adopt(Value& parent, const Ref& child) {
    if (child.get() == &parent) bad("a ", kind_name(parent.kind), " cannot contain itself");
    child->sealed = true;
    if (child->depth + 1 > kMaxDepth) bad("values nest deeper than ", kMaxDepth);
    parent.depth = std::max(parent.depth, child->depth + 1);
  }
  Ref container(Kind k, std::vector<Ref> items) {
    Ref v = make(k);
    for (const Ref& it : items) adopt(*v, it);
    v->items = std::move(items);
    return v;
  }
  Ref tuple_of_top(size_t n) {
    if (stack_.size() < floor() + n) bad("the stack holds fewer than ", n, " values");
    std::vector<Ref> items(stack_.end() - long(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return container(Kind::Tuple, std::move(items));
  }
  Ref container_from_mark(Kind k) { return container(k, pop_mark()); }
  Ref dict_from_mark() {
    Ref d = make(Kind::Dict);
    set_items(*d, pop_mark());
    return d;
  }

  Value& mutable_top(Kind k, const char* op) {
    const Ref& t = top();
    if (t->kind != k) bad(op, " on ", kind_name(t->kind), " (it needs ", kind_name(k), ")");
    if (t->sealed) bad(op, " on a ", kind_name(k), " that is already inside another value");
    return *t;
  }
  void append() {
    Ref item = pop();
    Value& list = mutable_top(Kind::List, "APPEND");
    adopt(list, item);
    list.items.push_back(std::move(item));
  }
  void appends() {
    std::vector<Ref> items = pop_mark();
    Value& list = mutable_top(Kind::List, "APPENDS");
    for (Ref& it : items) {
      adopt(list, it);
      list.items.push_back(std::move(it));
    }
  }
  void set_items(Value& d, const std::vector<Ref>& kv) {
    if (kv.size() % 2) bad("SETITEMS with an odd number of values (", kv.size(), ")");
    for (size_t i = 0; i < kv.size(); i += 2) {
      adopt(d, kv[i]);
      adopt(d, kv[i + 1]);
      std::string key = index_key(*kv[i]);
      auto it = key.empty() ? d.keys.end() : d.keys.find(key);
      if (it != d.keys.end()) {
        d.items[it->second + 1] = kv[i + 1];  // a repeated key replaces the value, as in Python
        continue;
      }
      if (!key.empty()) d.keys.emplace(std::move(key), d.items.size());
      d.items.push_back(kv[i]);
      d.items.push_back(kv[i + 1]);
    }
  }
  void setitem() {
    Ref v = pop();
    Ref k = pop();
    set_items(mutable_top(Kind::Dict, "SETITEM"), {k, v});
  }
  void setitems() {
    std::vector<Ref> kv = pop_mark();
    set_items(mutable_top(Kind::Dict, "SETITEMS"), kv);
  }

  void global(const std::string& module, const std::string& name) {
    std::string full = module + "." + name;
    if (!allowed_global(full)) bad("global '", full, "' is not allowed (a weights-only checkpoint names only tensors)");
    Ref v = make(Kind::Global);
    v->text = full;
    push(v);
  }
  std::string line() {  // GLOBAL's arguments: text up to a newline
    size_t start = pos_;
    while (pos_ < size_ && p_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) bad("the pickle ends inside a GLOBAL opcode");
    std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    return s;
  }
  void global_text() {
    std::string module = line();
    std::string name = line();
    global(module, name);
  }
  void stack_global() {
    Ref name = pop();
    Ref module = pop();
    if (module->kind != Kind::Str || name->kind != Kind::Str) bad("STACK_GLOBAL needs two strings");
    global(module->text, name->text);
  }

  void get(uint64_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) bad("memo entry ", i, " was never stored");
    push(it->second);
  }
  void put(uint64_t i) {
    if (memo_.size() >= kMaxMemo && !memo_.count(i)) bad("the memo holds more than ", kMaxMemo, " entries");
    memo_[i] = top();
  }

  void binpersid() {
    Ref pid = pop();
    Ref v = persistent_load_(*pid);
    if (!v) bad("persistent id refused");
    push(v);
  }

  // The allowed calls.
  const std::vector<Ref>& args_of(const Ref& args, const std::string& fn, size_t lo, size_t hi) {
    if (args->kind != Kind::Tuple) bad(fn, " called with ", kind_name(args->kind), " for arguments");
    if (args->items.size() < lo || args->items.size() > hi)
      bad(fn, " called with ", args->items.size(), " arguments (it takes ", lo, lo == hi ? "" : " to ",
          lo == hi ? std::string() : std::to_string(hi), ")");
    return args->items;
  }
  std::vector<int64_t> int_tuple(const Ref& v, const std::string& fn, const char* what) {
    if (v->kind != Kind::Tuple && v->kind != Kind::List) bad(fn, ": ", what, " must be a tuple of ints");
    std::vector<int64_t> out;
    for (const Ref& x : v->items) {
      if (x->kind != Kind::Int) bad(fn, ": ", what, " must be a tuple of ints, it holds ", kind_name(x->kind));
      out.push_back(x->integer);
    }
    return out;
  }
  Ref rebuild_tensor(const std::vector<Ref>& a, const std::string& fn) {
    if (a[0]->kind != Kind::Storage) bad(fn, ": argument 1 must be a storage, got ", kind_name(a[0]->kind));
    if (a[1]->kind != Kind::Int) bad(fn, ": the storage offset must be an int");
    Ref t = make(Kind::Tensor);
    t->tensor.storage = a[0]->integer;
    t->tensor.offset = a[1]->integer;
    t->tensor.sizes = int_tuple(a[2], fn, "the size");
    t->tensor.strides = int_tuple(a[3], fn, "the stride");
    if (t->tensor.sizes.size() != t->tensor.strides.size())
      bad(fn, ": ", t->tensor.sizes.size(), " sizes but ", t->tensor.strides.size(), " strides");
    if (t->tensor.sizes.size() > 64) bad(fn, ": ", t->tensor.sizes.size(), " dimensions is too many");
    return t;
  }
  void reduce() {
    Ref args = pop();
    Ref fn = pop();
    if (fn->kind != Kind::Global) bad("REDUCE on ", kind_name(fn->kind), " (only allowed globals can be called)");
    const std::string& f = fn->text;
    Ref out;
    if (f == "collections.OrderedDict") {
      args_of(args, f, 0, 0);
      out = make(Kind::Dict);
      out->ordered = true;
    } else if (f == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const std::vector<Ref>& a = args_of(args, f, 6, 7);
      if (a[4]->kind != Kind::Bool) bad(f, ": requires_grad must be a bool");
      if (a[5]->kind != Kind::Dict || !a[5]->items.empty()) bad(f, ": backward hooks must be an empty OrderedDict");
      if (a.size() == 7 && a[6]->kind != Kind::Dict && a[6]->kind != Kind::None) bad(f, ": metadata must be a dict");
      out = rebuild_tensor(a, f);
    } else if (f == "torch._utils._rebuild_tensor") {
      out = rebuild_tensor(args_of(args, f, 4, 4), f);
    } else if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      // (data, requires_grad, backward_hooks[, state])
      bool with_state = f == "torch._utils._rebuild_parameter_with_state";
      const std::vector<Ref>& a = args_of(args, f, with_state ? 4 : 3, with_state ? 4 : 3);
      if (a[0]->kind != Kind::Tensor) bad(f, ": argument 1 must be a tensor, got ", kind_name(a[0]->kind));
      if (a[1]->kind != Kind::Bool) bad(f, ": requires_grad must be a bool");
      if (a[2]->kind != Kind::Dict || !a[2]->items.empty()) bad(f, ": backward hooks must be an empty OrderedDict");
      out = a[0];
    } else {
      bad("REDUCE on '", f, "' is not allowed (it is not a constructor a state_dict uses)");
    }
    push(out);
  }
  void build() {
    Ref state = pop();
    const Ref& target = top();
    if (target->kind == Kind::Dict && (state->kind == Kind::Dict || state->kind == Kind::None)) return;  // _metadata
    if (target->kind == Kind::Global) bad("BUILD on '", target->text, "' is not allowed");
    bad("BUILD on ", kind_name(target->kind), " with ", kind_name(state->kind), " is not allowed");
  }
  void newobj() {
    Ref args = pop();
    Ref cls = pop();
    bad("NEWOBJ on ", cls->kind == Kind::Global ? "'" + cls->text + "'" : std::string(kind_name(cls->kind)),
        " is not allowed");
  }

  Ref stop() {
    if (!marks_.empty()) bad("STOP with an open mark");
    if (stack_.size() != 1) bad("STOP with ", stack_.size(), " values on the stack (1 expected)");
    Ref out = stack_.back();
    stack_.clear();
    memo_.clear();
    return out;
  }
};

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an int";
    case Kind::Float: return "a float";
    case Kind::Str: return "a str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "a tuple";
    case Kind::List: return "a list";
    case Kind::Dict: return "a dict";
    case Kind::Global: return "a global";
    case Kind::Storage: return "a storage";
    case Kind::Tensor: return "a tensor";
  }
  return "?";
}

const Value* Value::get(const std::string& key) const {
  auto it = keys.find("s" + key);
  return it == keys.end() ? nullptr : items[it->second + 1].get();
}

Ref load(const uint8_t* data, size_t size, const std::string& where, const PersistentLoad& persistent_load) {
  return Machine(data, size, where, persistent_load).run();
}

}  // namespace vlv::io::pickle
