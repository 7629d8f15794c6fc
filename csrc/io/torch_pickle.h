// A weights-only pickle reader: interprets the data.pkl of a torch.save archive (pickle
// protocols 2 to 5) into plain values, and never imports or calls anything. It knows a fixed
// set of opcodes and a fixed allow-list of globals; anything else is an E_FILE_FORMAT naming
// it ("global 'os.system' is not allowed", "opcode 0x93 (STACK_GLOBAL) ..."):
//
//  globals   collections.OrderedDict; torch._utils._rebuild_tensor, _rebuild_tensor_v2,
//            _rebuild_parameter, _rebuild_parameter_with_state; torch.<T>Storage for T in
//            Float Double Half BFloat16 Long Int Short Char Byte Bool (only as the type in a
//            persistent id).
//  calls     REDUCE on OrderedDict with no arguments, or on a _rebuild_* function with the
//            arguments torch writes (checked one by one); NEWOBJ, INST, OBJ, EXT* are refused.
//  BUILD     on a dict (OrderedDict's __dict__, e.g. a state_dict's `_metadata`): accepted and
//            ignored. On anything else: refused.
//  values    None, bools, 64-bit ints, floats, str, bytes, tuples, lists, dicts, tensors.
//
// Limits (each an E_FILE_FORMAT): the pickle is at most 256 MiB, the stack 1M values, marks and
// containers nest at most 256 deep (so freeing the values never recurses deeply), the memo
// holds at most 16M entries, ints fit 64 bits. A container that is already inside another can
// no longer be changed, so no value can contain itself.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vlv::io::pickle {

enum class Kind : uint8_t { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
const char* kind_name(Kind k);  // "None", "an int", "a tuple", ...

struct Value;
using Ref = std::shared_ptr<Value>;

// A tensor as _rebuild_tensor_v2 describes it: a view of a storage.
struct TensorView {
  int64_t storage = -1;  // the id the persistent-id resolver gave the storage
  int64_t offset = 0;    // in elements
  std::vector<int64_t> sizes, strides;
};

struct Value {
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;  // Int; Storage: its id
  double number = 0;
  std::string text;                              // Str, Bytes; Global: "module.name"
  std::vector<Ref> items;                        // Tuple, List; Dict: key, value, key, value, ... in insertion order
  TensorView tensor;                             // Tensor
  bool ordered = false;                          // Dict: an OrderedDict
  bool sealed = false;                           // inside another container: no longer mutable
  int depth = 1;                                 // 1 + the deepest contained value
  std::unordered_map<std::string, size_t> keys;  // Dict: str/int key -> index into items

  const Value* get(const std::string& key) const;  // Dict: the value under a str key, or null
};

// Turns a persistent id (the tuple torch writes for a storage) into a value (a Storage);
// throws E_FILE_FORMAT for anything it does not accept.
using PersistentLoad = std::function<Ref(const Value& pid)>;

// Interprets the pickle; `where` names it in messages ("model.pt: data.pkl").
Ref load(const uint8_t* data, size_t size, const std::string& where, const PersistentLoad& persistent_load);

}  // namespace vlv::io::pickle
