// Reading torch.save checkpoints: the archive's records, the storages its persistent ids
// name, the tensor views of the pickle, ties, and the views turned into vlv tensors (see
// torch_checkpoint.h for the rules).
#include "io/torch_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "io/mapped_file.h"
#include "io/torch_pickle.h"
#include "io/zip_archive.h"

namespace vlv::io {

namespace fs = std::filesystem;
using pickle::Kind;
using pickle::Ref;
using pickle::TensorView;
using pickle::Value;

namespace {

constexpr int64_t kMaxExpandedElements = int64_t(1) << 24;

struct StorageType {
  const char* global;  // "torch.FloatStorage"
  const char* dtype;   // the safetensors name
  size_t size;         // bytes per element
  DType vlv;           // what a load produces
  bool same_layout;    // the bytes are already vlv's (else a widening copy)
};

const StorageType kStorageTypes[] = {
    {"torch.FloatStorage", "F32", 4, DType::F32, true},  {"torch.DoubleStorage", "F64", 8, DType::F64, true},
    {"torch.HalfStorage", "F16", 2, DType::F16, true},   {"torch.BFloat16Storage", "BF16", 2, DType::BF16, true},
    {"torch.LongStorage", "I64", 8, DType::I64, true},   {"torch.IntStorage", "I32", 4, DType::I32, true},
    {"torch.ShortStorage", "I16", 2, DType::I32, false}, {"torch.CharStorage", "I8", 1, DType::I32, false},
    {"torch.ByteStorage", "U8", 1, DType::U8, true},     {"torch.BoolStorage", "BOOL", 1, DType::Bool, true},
};

const StorageType* find_storage_type(const std::string& global) {
  for (const StorageType& t : kStorageTypes)
    if (global == t.global) return &t;
  return nullptr;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct StorageRecord {
  std::string key;
  const StorageType* type;
  uint64_t numel;
  const ZipEntry* entry;
  Ref value;  // the Storage value handed to the pickle (one per key)
};

struct NamedView {
  std::string name;
  TensorView view;
  int64_t numel = 0;
  std::string alias_of;
};

// An opened, validated checkpoint: the mapping, the zip, the storages and the named views.
class Archive {
 public:
  explicit Archive(const std::string& path) : path_(path) {
    uint64_t size = 0;
    FileDescriptor fd = FileDescriptor::open_read(path, &size);
    if (size == 0) bad("the file is empty");
    map_ = MappedFile::map(fd.get(), size_t(size), path);
    const uint8_t* bytes = map_->data();
    if (bytes[0] == 0x80)
      bad("legacy torch.save format (a bare pickle, not a zip archive) is not read; re-save it with "
          "torch.save(obj, path, _use_new_zipfile_serialization=True), the default since PyTorch 1.6");
    if (!looks_like_zip(bytes, size))
      bad("not a PyTorch checkpoint (torch.save writes a zip archive; no zip signature)");
    zip_ = std::make_unique<ZipArchive>(bytes, size, path);
    find_prefix();
    check_byteorder();
    read_pickle();
  }

  const std::string& path() const { return path_; }
  uint64_t file_bytes() const { return map_->size(); }
  const std::vector<StorageRecord>& storages() const { return storages_; }
  const std::vector<NamedView>& tensors() const { return tensors_; }

  TorchTensorEntry entry(const NamedView& t) const {
    const StorageRecord& s = storages_[size_t(t.view.storage)];
    TorchTensorEntry e;
    e.name = t.name;
    e.dtype = s.type->dtype;
    e.shape.assign(t.view.sizes.begin(), t.view.sizes.end());
    e.stride = t.view.strides;
    e.storage_offset = t.view.offset;
    e.storage = s.key;
    e.storage_bytes = s.entry->size;
    e.alias_of = t.alias_of;
    return e;
  }

  Tensor tensor(const NamedView& t) {
    const StorageRecord& s = storages_[size_t(t.view.storage)];
    if (verified_.insert(t.view.storage).second) zip_->verify(*s.entry);
    const StorageType& type = *s.type;
    Shape shape(t.view.sizes.begin(), t.view.sizes.end());
    if (t.numel == 0) return Tensor::empty(shape, type.vlv);
    const uint8_t* base = zip_->data(*s.entry);
    uint64_t byte_offset = s.entry->data_offset + uint64_t(t.view.offset) * type.size;
    if (type.same_layout && contiguous(t.view) && byte_offset % type.size == 0) {
      if (!mapping_) {
        std::shared_ptr<MappedFile> map = map_;
        mapping_ =
            std::make_shared<Storage>(map->data(), map->size(), Device::CPU, [map](void*) mutable { map.reset(); });
      }
      return Tensor::from_storage(mapping_, size_t(byte_offset), shape, type.vlv);
    }
    Tensor out = Tensor::empty(shape, type.vlv);
    uint8_t* dst = static_cast<uint8_t*>(out.raw());
    if (!type.same_layout) {
      if (type.size == 2) gather<int16_t, int32_t>(base, t.view, reinterpret_cast<int32_t*>(dst));
      else gather<int8_t, int32_t>(base, t.view, reinterpret_cast<int32_t*>(dst));
    } else if (type.size == 1) {
      gather<uint8_t, uint8_t>(base, t.view, dst);
    } else if (type.size == 2) {
      gather<uint16_t, uint16_t>(base, t.view, reinterpret_cast<uint16_t*>(dst));
    } else if (type.size == 4) {
      gather<uint32_t, uint32_t>(base, t.view, reinterpret_cast<uint32_t*>(dst));
    } else {
      gather<uint64_t, uint64_t>(base, t.view, reinterpret_cast<uint64_t*>(dst));
    }
    return out;
  }

 private:
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  std::shared_ptr<Storage> mapping_;  // the mapping as a tensor storage, made on first use
  std::unique_ptr<ZipArchive> zip_;
  std::string prefix_;  // "archive/"
  std::vector<StorageRecord> storages_;
  std::unordered_map<std::string, size_t> storage_ids_;
  std::vector<NamedView> tensors_;
  std::set<int64_t> verified_;

  template <class... A>
  [[noreturn]] void bad(const A&... parts) const {
    fail(ErrorCode::FileFormat, path_, ": ", parts...);
  }

  void find_prefix() {
    std::vector<std::string> found;
    for (const ZipEntry& e : zip_->entries()) {
      if (!ends_with(e.name, "/data.pkl")) continue;
      std::string prefix = e.name.substr(0, e.name.size() - 8);
      if (prefix.size() > 1 && prefix.find('/') == prefix.size() - 1) found.push_back(prefix);
    }
    if (found.empty()) bad("no '<name>/data.pkl' record: a zip archive, but not one torch.save wrote");
    if (found.size() > 1)
      bad("the archive holds ", found.size(), " data.pkl records ('", found[0], "data.pkl', '", found[1],
          "data.pkl'); one is expected");
    prefix_ = found[0];
  }

  const ZipEntry* small_record(const std::string& name) const {
    const ZipEntry* e = zip_->find(prefix_ + name);
    if (e) zip_->verify(*e);
    return e;
  }

  void check_byteorder() const {
    const ZipEntry* e = small_record("byteorder");
    if (!e) return;
    std::string order(reinterpret_cast<const char*>(zip_->data(*e)), size_t(std::min<uint64_t>(e->size, 64)));
    if (order != "little")
      bad("record '", prefix_, "byteorder' says '", order, "'; only little-endian checkpoints are read");
  }

  Ref storage(const Value& pid) {
    const std::string where = "a persistent id";
    if (pid.kind != Kind::Tuple || pid.items.size() != 5 || pid.items[0]->kind != Kind::Str ||
        pid.items[0]->text != "storage")
      bad("data.pkl: ", where, " is not ('storage', type, key, location, numel)");
    const Value& type = *pid.items[1];
    const Value& key = *pid.items[2];
    const Value& numel = *pid.items[4];
    if (type.kind != Kind::Global) bad("data.pkl: a storage type is ", pickle::kind_name(type.kind));
    const StorageType* st = find_storage_type(type.text);
    if (!st) bad("data.pkl: storage type '", type.text, "' is not supported");
    if (key.kind != Kind::Str) bad("data.pkl: a storage key is ", pickle::kind_name(key.kind), ", not a str");
    if (pid.items[3]->kind != Kind::Str) bad("data.pkl: storage '", key.text, "': the location is not a str");
    if (numel.kind != Kind::Int || numel.integer < 0)
      bad("data.pkl: storage '", key.text, "': the element count is not a non-negative int");
    auto known = storage_ids_.find(key.text);
    if (known != storage_ids_.end()) {
      const StorageRecord& s = storages_[known->second];
      if (s.type != st || s.numel != uint64_t(numel.integer))
        bad("data.pkl: storage '", key.text, "' is named twice with different types or sizes");
      return s.value;
    }
    const std::string record = prefix_ + "data/" + key.text;
    const ZipEntry* e = zip_->find(record);
    if (!e) bad("storage '", key.text, "': record '", record, "' is missing");
    uint64_t n = uint64_t(numel.integer);
    if (n > e->size / st->size || n * st->size != e->size)
      bad("storage '", key.text, "': ", n, " elements of ", st->global, " need ", n, " x ", st->size,
          " bytes but record '", record, "' holds ", e->size);
    Ref v = std::make_shared<Value>();
    v->kind = Kind::Storage;
    v->integer = int64_t(storages_.size());
    storage_ids_.emplace(key.text, storages_.size());
    storages_.push_back(StorageRecord{key.text, st, n, e, v});
    return v;
  }

  void read_pickle() {
    const ZipEntry* pkl = small_record("data.pkl");
    Ref root = pickle::load(zip_->data(*pkl), size_t(pkl->size), path_ + ": " + pkl->name,
                            [this](const Value& pid) { return storage(pid); });
    if (root->kind != Kind::Dict)
      bad("the checkpoint holds ", pickle::kind_name(root->kind), ", not a dict of tensors (a state_dict)");
    const Value* dict = root.get();
    auto has_tensors = [](const Value& d) {
      for (size_t i = 1; i < d.items.size(); i += 2)
        if (d.items[i]->kind == Kind::Tensor) return true;
      return false;
    };
    const Value* nested = dict->get("state_dict");
    if (!has_tensors(*dict) && nested && nested->kind == Kind::Dict) dict = nested;
    std::map<std::string, std::string> first;  // view key -> first name
    for (size_t i = 0; i < dict->items.size(); i += 2) {
      const Value& k = *dict->items[i];
      const Value& v = *dict->items[i + 1];
      if (k.kind != Kind::Str || v.kind != Kind::Tensor) continue;
      NamedView t{k.text, v.tensor, 0, {}};
      t.numel = check_view(t);
      std::string view_key = std::to_string(t.view.storage) + ":" + std::to_string(t.view.offset);
      for (size_t d = 0; d < t.view.sizes.size(); ++d)
        view_key += ":" + std::to_string(t.view.sizes[d]) + "/" + std::to_string(t.view.strides[d]);
      auto [it, inserted] = first.emplace(view_key, t.name);
      if (!inserted) t.alias_of = it->second;
      tensors_.push_back(std::move(t));
    }
  }

  // Checks the view lies inside its storage; returns its element count.
  int64_t check_view(const NamedView& t) const {
    const TensorView& v = t.view;
    const StorageRecord& s = storages_[size_t(v.storage)];
    const std::string where = "tensor '" + t.name + "'";
    if (v.offset < 0) bad(where, ": negative storage offset ", v.offset);
    unsigned __int128 numel = 1, last = uint64_t(v.offset);
    for (size_t d = 0; d < v.sizes.size(); ++d) {
      if (v.sizes[d] < 0 || v.strides[d] < 0)
        bad(where, ": size ", v.sizes[d], " / stride ", v.strides[d], " of dimension ", d, " is negative");
      numel *= uint64_t(v.sizes[d]);
      if (numel > (uint64_t(1) << 62)) bad(where, ": its size overflows");
      if (v.sizes[d] > 0) last += (unsigned __int128)(uint64_t(v.sizes[d] - 1)) * uint64_t(v.strides[d]);
    }
    if (numel == 0) {
      if (uint64_t(v.offset) > s.numel)
        bad(where, ": storage offset ", v.offset, " is past the end of storage '", s.key, "' (", s.numel, " elements)");
      return 0;
    }
    if (last >= s.numel)
      bad(where, ": the view (offset ", v.offset, ", ", uint64_t(numel), " elements) reaches element ",
          uint64_t(std::min<unsigned __int128>(last, UINT64_MAX)), " of storage '", s.key, "', which holds ", s.numel);
    if (numel > s.numel && numel > uint64_t(kMaxExpandedElements))
      bad(where, ": an expanded view of ", uint64_t(numel), " elements over a storage of ", s.numel,
          " is refused (more than ", kMaxExpandedElements, ")");
    return int64_t(numel);
  }

  static bool contiguous(const TensorView& v) {
    int64_t expected = 1;
    for (size_t d = v.sizes.size(); d-- > 0;) {
      if (v.sizes[d] != 1 && v.strides[d] != expected) return false;
      expected *= v.sizes[d];
    }
    return true;
  }

  // Copies a view's elements in row-major order, converting Src to Dst.
  template <class Src, class Dst>
  static void gather(const uint8_t* base, const TensorView& v, Dst* out) {
    size_t nd = v.sizes.size();
    auto load = [base](int64_t i) {
      Src x;
      std::memcpy(&x, base + size_t(i) * sizeof(Src), sizeof(Src));
      return Dst(x);
    };
    if (nd == 0) {
      *out = load(v.offset);
      return;
    }
    int64_t inner = v.sizes[nd - 1], step = v.strides[nd - 1];
    std::vector<int64_t> idx(nd - 1, 0);
    for (;;) {
      int64_t at = v.offset;
      for (size_t d = 0; d + 1 < nd; ++d) at += idx[d] * v.strides[d];
      for (int64_t j = 0; j < inner; ++j) *out++ = load(at + j * step);
      size_t d = nd - 1;
      while (d > 0 && ++idx[d - 1] == v.sizes[d - 1]) idx[--d] = 0;
      if (d == 0) return;
    }
  }
};

}  // namespace

TorchCheckpointInfo inspect_torch_checkpoint(const std::string& path) {
  Archive a(path);
  TorchCheckpointInfo info;
  info.file_bytes = a.file_bytes();
  std::set<int64_t> seen;
  for (const NamedView& t : a.tensors()) {
    info.tensors.push_back(a.entry(t));
    if (seen.insert(t.view.storage).second) info.storage_bytes += a.storages()[size_t(t.view.storage)].entry->size;
  }
  return info;
}

TorchLoaded load_torch_checkpoint(const std::string& path, std::optional<DType> dtype) {
  Archive a(path);
  TorchLoaded out;
  for (const NamedView& t : a.tensors()) {
    Tensor x = a.tensor(t);
    if (dtype && is_floating(x.dtype()) && x.dtype() != *dtype) x = x.to(*dtype);
    out.tensors.emplace_back(t.name, std::move(x));
    if (!t.alias_of.empty()) out.aliases.emplace_back(t.name, t.alias_of);
  }
  return out;
}

bool is_torch_checkpoint_name(const std::string& path) {
  for (const char* ext : {".pt", ".pth", ".bin", ".ckpt"})
    if (ends_with(path, ext)) return true;
  return false;
}

std::string find_torch_checkpoint(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return {};
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (ends_with(name, ".safetensors") || ends_with(name, ".safetensors.index.json")) return {};
  }
  for (const char* name : {"pytorch_model.bin", "diffusion_pytorch_model.bin"}) {
    fs::path p = fs::path(folder) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return {};
}

}  // namespace vlv::io
