// Reading safetensors: header-only inspection, mmap-backed loading (zero-copy views where
// the bytes fit as they are, copies where they are misaligned, widened or converted), and
// sharded checkpoints through their index file.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "io/json.h"
#include "io/mapped_file.h"
#include "io/safetensors_format.h"

namespace vlv::io {

namespace fs = std::filesystem;

Header read_header(const std::string& path) {
  uint64_t size = 0;
  FileDescriptor fd = FileDescriptor::open_read(path, &size);
  check_file_size(path, size);
  uint8_t first8[8];
  read_exact(fd.get(), first8, 8, 0, path);
  uint64_t n = check_header_length(path, size, first8);
  std::string text(n, '\0');
  read_exact(fd.get(), text.data(), n, 8, path);
  return parse_header(path, size, n, text);
}

namespace {

// Widens an integer type vlv lacks (I8, I16, U16 -> i32; U32, U64 -> i64).
template <class Src, class Dst>
void widen(const uint8_t* src, Dst* dst, int64_t n, const std::string& where) {
  for (int64_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, src + size_t(i) * sizeof(Src), sizeof(Src));
    if constexpr (std::is_same_v<Src, uint64_t>)
      VLV_CHECK(v <= uint64_t(INT64_MAX), ErrorCode::DType, where, ": U64 value ", v, " at index ", i,
                " does not fit i64");
    dst[i] = Dst(v);
  }
}

Tensor widened(const TensorEntry& e, const uint8_t* p, const FileDType& dt, const std::string& where) {
  Tensor t = Tensor::empty(e.shape, dt.vlv);
  int64_t n = t.numel();
  std::string d = e.dtype;
  if (d == "I8") widen<int8_t>(p, t.data<int32_t>(), n, where);
  else if (d == "I16") widen<int16_t>(p, t.data<int32_t>(), n, where);
  else if (d == "U16") widen<uint16_t>(p, t.data<int32_t>(), n, where);
  else if (d == "U32") widen<uint32_t>(p, t.data<int64_t>(), n, where);
  else widen<uint64_t>(p, t.data<int64_t>(), n, where);
  return t;
}

// One validated, mapped file.
struct OpenFile {
  std::string path;
  Header header;
  std::shared_ptr<Storage> storage;  // the whole mapping; its release unmaps

  static OpenFile open(const std::string& path) {
    OpenFile f;
    f.path = path;
    uint64_t size = 0;
    FileDescriptor fd = FileDescriptor::open_read(path, &size);
    check_file_size(path, size);
    std::shared_ptr<MappedFile> map = MappedFile::map(fd.get(), size_t(size), path);
    uint64_t n = check_header_length(path, map->size(), map->data());
    f.header =
        parse_header(path, map->size(), n, std::string_view(reinterpret_cast<const char*>(map->data()) + 8, size_t(n)));
    uint8_t* base = map->data();
    size_t bytes = map->size();
    f.storage = std::make_shared<Storage>(base, bytes, Device::CPU, [map](void*) mutable { map.reset(); });
    return f;
  }

  Tensor tensor(const TensorEntry& e, const LoadOptions& opts) const {
    const FileDType& dt = *find_file_dtype(e.dtype);
    size_t offset = size_t(header.data_start() + e.begin);
    const uint8_t* p = static_cast<const uint8_t*>(storage->data()) + offset;
    Tensor t;
    if (!dt.same_layout) {
      t = widened(e, p, dt, path + ": tensor '" + e.name + "'");
    } else if (reinterpret_cast<uintptr_t>(p) % dt.size != 0) {
      t = Tensor::empty(e.shape, dt.vlv);  // misaligned for its element type: copy
      std::memcpy(t.raw(), p, t.nbytes());
    } else {
      t = Tensor::from_storage(storage, offset, e.shape, dt.vlv);
    }
    if (opts.dtype && is_floating(t.dtype()) && t.dtype() != *opts.dtype) t = t.to(*opts.dtype);
    return t;
  }
};

std::string read_small_file(const std::string& path) {
  uint64_t size = 0;
  FileDescriptor fd = FileDescriptor::open_read(path, &size);
  VLV_CHECK(size <= kMaxHeaderBytes, ErrorCode::FileFormat, path, ": ", size, " bytes is too large for an index file");
  std::string text(size_t(size), '\0');
  read_exact(fd.get(), text.data(), text.size(), 0, path);
  return text;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Checkpoint read_index(const std::string& index_path) {
  std::string text = read_small_file(index_path);
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const json::ParseError& e) {
    fail(ErrorCode::FileFormat, index_path, ": not valid JSON: ", e.what(), " at byte ", e.pos());
  }
  VLV_CHECK(root.type == json::Type::Object, ErrorCode::FileFormat, index_path, ": must be a JSON object, got ",
            json::type_name(root.type));
  const json::Value* wm = root.find("weight_map");
  VLV_CHECK(wm && wm->type == json::Type::Object, ErrorCode::FileFormat, index_path,
            ": 'weight_map' must be an object of tensor name -> shard file");
  fs::path folder = fs::absolute(fs::path(index_path)).parent_path();
  Checkpoint c;
  c.index = fs::absolute(fs::path(index_path)).lexically_normal().string();
  std::set<std::string> files;
  for (const auto& [name, file] : wm->members) {
    VLV_CHECK(file.type == json::Type::String, ErrorCode::FileFormat, index_path, ": weight_map['", name,
              "'] must be a file name, got ", json::type_name(file.type));
    fs::path rel(file.text);
    bool inside = !rel.empty() && rel.is_relative();
    for (const fs::path& part : rel) inside &= part != "..";
    VLV_CHECK(inside, ErrorCode::FileFormat, index_path, ": weight_map['", name, "'] names '", file.text,
              "', which is not a file inside the index's folder");
    std::string shard = (folder / rel).lexically_normal().string();
    files.insert(shard);
    c.weight_map.emplace_back(name, shard);
  }
  c.files.assign(files.begin(), files.end());
  return c;
}

}  // namespace

Checkpoint resolve_checkpoint(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(ErrorCode::File, path, ": no such file or directory");
  if (!fs::is_directory(st)) {
    if (ends_with(path, ".index.json")) return read_index(path);
    Checkpoint c;
    c.files.push_back(fs::absolute(fs::path(path)).lexically_normal().string());
    return c;
  }
  std::vector<std::string> indexes, weights;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (ends_with(name, ".safetensors.index.json")) indexes.push_back(it->path().string());
    else if (ends_with(name, ".safetensors")) weights.push_back(it->path().string());
  }
  if (ec) fail(ErrorCode::File, path, ": cannot list the folder: ", ec.message());
  std::sort(indexes.begin(), indexes.end());
  std::sort(weights.begin(), weights.end());
  auto named = [&](const std::vector<std::string>& list, const char* base) -> const std::string* {
    for (const std::string& p : list)
      if (fs::path(p).filename() == base) return &p;
    return nullptr;
  };
  if (const std::string* p = named(indexes, "model.safetensors.index.json")) return read_index(*p);
  if (const std::string* p = named(indexes, "diffusion_pytorch_model.safetensors.index.json")) return read_index(*p);
  if (indexes.size() == 1) return read_index(indexes[0]);
  VLV_CHECK(indexes.empty(), ErrorCode::File, path, ": the folder has ", indexes.size(),
            " *.safetensors.index.json files; name the one to load");
  const std::string* single = named(weights, "model.safetensors");
  if (!single) single = named(weights, "diffusion_pytorch_model.safetensors");
  if (!single && weights.size() == 1) single = &weights[0];
  VLV_CHECK(!weights.empty(), ErrorCode::File, path, ": the folder has no *.safetensors file");
  VLV_CHECK(single, ErrorCode::File, path, ": the folder has ", weights.size(),
            " *.safetensors files and no index or model.safetensors; name the file to load");
  return resolve_checkpoint(*single);
}

Loaded load(const std::string& path_or_folder, const LoadOptions& opts) {
  Checkpoint c = resolve_checkpoint(path_or_folder);
  std::set<std::string> wanted;
  if (opts.names) wanted.insert(opts.names->begin(), opts.names->end());
  std::set<std::string> found;
  std::map<std::string, std::string> shard_of(c.weight_map.begin(), c.weight_map.end());
  Loaded out;
  for (size_t fi = 0; fi < c.files.size(); ++fi) {
    OpenFile f = OpenFile::open(c.files[fi]);
    if (fi == 0) out.metadata = f.header.metadata;
    if (!c.index.empty()) {
      std::set<std::string> here;
      for (const TensorEntry& e : f.header.tensors) {
        auto it = shard_of.find(e.name);
        VLV_CHECK(it != shard_of.end() && it->second == f.path, ErrorCode::FileFormat, c.index, ": shard '", f.path,
                  "' holds tensor '", e.name, "', which the weight_map ",
                  it == shard_of.end() ? "does not list" : "puts in '" + it->second + "'");
        here.insert(e.name);
      }
      for (const auto& [name, shard] : c.weight_map)
        VLV_CHECK(shard != f.path || here.count(name), ErrorCode::FileFormat, c.index, ": tensor '", name,
                  "' is missing from its shard '", shard, "'");
    }
    for (const TensorEntry& e : f.header.tensors) {
      if (opts.names && !wanted.count(e.name)) continue;
      found.insert(e.name);
      out.tensors.emplace_back(e.name, f.tensor(e, opts));
    }
  }
  if (opts.names)
    for (const std::string& n : *opts.names)
      VLV_CHECK(found.count(n), ErrorCode::Arg, path_or_folder, ": no tensor named '", n, "'");
  return out;
}

}  // namespace vlv::io
