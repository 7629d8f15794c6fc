// Header validation for safetensors files: every rule listed in safetensors.h, each fault an
// E_FILE_FORMAT whose message names the file, the tensor and the numbers involved.
#include <algorithm>
#include <sstream>

#include "io/json.h"
#include "io/safetensors_format.h"

namespace vlv::io {

namespace {

const FileDType kDTypes[] = {
    {"F64", 8, DType::F64, true},   {"F32", 4, DType::F32, true},   {"F16", 2, DType::F16, true},
    {"BF16", 2, DType::BF16, true}, {"I64", 8, DType::I64, true},   {"I32", 4, DType::I32, true},
    {"U8", 1, DType::U8, true},     {"BOOL", 1, DType::Bool, true}, {"I16", 2, DType::I32, false},
    {"I8", 1, DType::I32, false},   {"U16", 2, DType::I32, false},  {"U32", 4, DType::I64, false},
    {"U64", 8, DType::I64, false},
};

std::string offsets_str(uint64_t b, uint64_t e) {
  std::ostringstream os;
  os << "[" << b << "," << e << "]";
  return os.str();
}

std::string dims_str(const std::vector<uint64_t>& dims) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < dims.size(); ++i) os << (i ? "," : "") << dims[i];
  os << "]";
  return os.str();
}

struct Validator {
  const std::string& path;

  template <class... A>
  [[noreturn]] void bad(const A&... parts) const {
    fail(ErrorCode::FileFormat, path, ": ", parts...);
  }

  // A non-negative integer that fits in 64 bits; `what` names it in the message.
  uint64_t uint_of(const json::Value& v, const std::string& where, const char* what) const {
    if (v.type != json::Type::Number || !v.integer || v.negative)
      bad(where, ": ", what, " must be a non-negative integer, got ",
          v.type == json::Type::Number ? v.text : json::type_name(v.type));
    if (!v.fits_u64) bad(where, ": ", what, " ", v.text, " does not fit 64 bits");
    return v.magnitude;
  }

  void metadata(const json::Value& v, Header& h) const {
    if (v.type != json::Type::Object) bad("__metadata__ must be an object of strings, got ", json::type_name(v.type));
    for (const auto& [k, x] : v.members) {
      if (x.type != json::Type::String)
        bad("__metadata__ value for '", k, "' must be a string, got ", json::type_name(x.type));
      h.metadata.emplace_back(k, x.text);
    }
    h.has_metadata = true;
  }

  TensorEntry entry(const std::string& name, const json::Value& v, uint64_t data_bytes) const {
    const std::string where = "tensor '" + name + "'";
    if (v.type != json::Type::Object) bad(where, ": entry must be an object, got ", json::type_name(v.type));
    const json::Value *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto& [k, x] : v.members) {
      if (k == "dtype") dtype = &x;
      else if (k == "shape") shape = &x;
      else if (k == "data_offsets") offsets = &x;
      else bad(where, ": unexpected field '", k, "' (an entry has exactly dtype, shape and data_offsets)");
    }
    if (!dtype) bad(where, ": missing 'dtype'");
    if (!shape) bad(where, ": missing 'shape'");
    if (!offsets) bad(where, ": missing 'data_offsets'");

    TensorEntry e;
    e.name = name;
    if (dtype->type != json::Type::String) bad(where, ": dtype must be a string, got ", json::type_name(dtype->type));
    const FileDType* dt = find_file_dtype(dtype->text);
    if (!dt)
      bad(where, ": unknown dtype '", dtype->text,
          "' (vlv reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64)");
    e.dtype = dt->name;

    if (shape->type != json::Type::Array) bad(where, ": shape must be an array, got ", json::type_name(shape->type));
    std::vector<uint64_t> dims;
    for (const json::Value& d : shape->items) dims.push_back(uint_of(d, where, "shape entry"));
    uint64_t numel = 1, nbytes = 0;
    bool overflow = false;
    for (uint64_t d : dims) overflow |= __builtin_mul_overflow(numel, d, &numel);
    overflow |= __builtin_mul_overflow(numel, uint64_t(dt->size), &nbytes);
    if (overflow || numel > uint64_t(INT64_MAX))
      bad(where, ": shape ", dims_str(dims), " of ", dt->name, " overflows 64-bit sizes");
    for (uint64_t d : dims) e.shape.push_back(int64_t(d));

    if (offsets->type != json::Type::Array || offsets->items.size() != 2)
      bad(where, ": data_offsets must be an array [begin, end], got ",
          offsets->type == json::Type::Array ? std::to_string(offsets->items.size()) + " entries"
                                             : json::type_name(offsets->type));
    e.begin = uint_of(offsets->items[0], where, "data_offsets entry");
    e.end = uint_of(offsets->items[1], where, "data_offsets entry");
    std::string span = offsets_str(e.begin, e.end);
    if (e.begin > e.end) bad(where, ": data_offsets ", span, " are reversed (begin > end)");
    if (e.end - e.begin != nbytes)
      bad(where, ": data_offsets ", span, " span ", e.end - e.begin, " bytes but ", dt->name, dims_str(dims), " needs ",
          nbytes);
    if (e.end > data_bytes)
      bad(where, ": data_offsets ", span, " run past the end of the data section (", data_bytes,
          " bytes; is the file truncated?)");
    return e;
  }

  // The spans, sorted by offset, must tile [0, data_bytes) exactly (as the reference crate).
  void coverage(std::vector<TensorEntry>& ts, uint64_t data_bytes) const {
    std::stable_sort(ts.begin(), ts.end(), [](const TensorEntry& a, const TensorEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t pos = 0;
    const TensorEntry* prev = nullptr;
    for (const TensorEntry& e : ts) {
      if (e.begin < pos)
        bad("tensor '", e.name, "': data_offsets ", offsets_str(e.begin, e.end), " overlap tensor '", prev->name, "' ",
            offsets_str(prev->begin, prev->end));
      if (e.begin > pos)
        bad("hole of ", e.begin - pos, " bytes in the data section at offset ", pos, " before tensor '", e.name,
            "' (tensor data must cover the data section)");
      pos = e.end;
      prev = &e;
    }
    if (pos != data_bytes)
      bad("the data section has ", data_bytes, " bytes but the tensors cover ", pos, " (", data_bytes - pos,
          " trailing bytes)");
  }
};

}  // namespace

const FileDType* find_file_dtype(std::string_view name) {
  for (const FileDType& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const char* file_dtype_name(DType dt) {
  for (const FileDType& d : kDTypes)
    if (d.same_layout && d.vlv == dt) return d.name;
  fail(ErrorCode::Internal, "no safetensors dtype for ", dtype_name(dt));
}

void check_file_size(const std::string& path, uint64_t file_bytes) {
  VLV_CHECK(file_bytes >= 8, ErrorCode::FileFormat, path, ": the file is ", file_bytes,
            " bytes, too short for the 8-byte header length");
}

uint64_t check_header_length(const std::string& path, uint64_t file_bytes, const uint8_t* first8) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | first8[i];
  VLV_CHECK(n <= kMaxHeaderBytes, ErrorCode::FileFormat, path, ": header length ", n, " exceeds the limit of ",
            kMaxHeaderBytes, " bytes");
  VLV_CHECK(n <= file_bytes - 8, ErrorCode::FileFormat, path, ": header length ", n, " runs past the end of the file (",
            file_bytes, " bytes)");
  return n;
}

Header parse_header(const std::string& path, uint64_t file_bytes, uint64_t header_bytes, std::string_view text) {
  Validator v{path};
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const json::ParseError& e) {
    v.bad("the header is not valid JSON: ", e.what(), " at byte ", e.pos(), " of the header");
  }
  if (root.type != json::Type::Object) v.bad("the header must be a JSON object, got ", json::type_name(root.type));
  Header h;
  h.header_bytes = header_bytes;
  h.file_bytes = file_bytes;
  uint64_t data_bytes = file_bytes - 8 - header_bytes;
  for (const auto& [name, x] : root.members) {
    if (name == "__metadata__") v.metadata(x, h);
    else h.tensors.push_back(v.entry(name, x, data_bytes));
  }
  v.coverage(h.tensors, data_bytes);
  return h;
}

}  // namespace vlv::io
