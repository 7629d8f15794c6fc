// Typed configs: each architecture declares its config as a struct whose members are the
// file's fields (same names as in config.json, defaults as the reference library's) and ONE
// list of them, `template <class V> void fields(V& v)`:
//
//   struct ClipTextConfig {
//     int64_t hidden_size = 0;
//     double layer_norm_eps = 1e-5;
//     template <class V> void fields(V& v) {
//       v.required("hidden_size", hidden_size);
//       v.optional("layer_norm_eps", layer_norm_eps);  // absent or null: the initializer
//     }
//     static std::vector<std::string> ignored();      // fields that do not affect the computation
//     // (the registration then runs validate(c, source) and check_unread(c.ignored()))
//   };
//
// The same list reads the struct from a Config (read_fields: every field once, tracked for
// check_unread) and writes it out as JSON (config_json: what the JS side sees as
// model.config, the file's names with every default filled in). A model's config is read
// once, validated, and then checked with check_unread(ignored()) before any weight is taken.
//
// Member types: bool, int64_t, double, std::string, std::vector<int64_t | bool | std::string>,
// IntOrList (diffusers' "an int or one per block"), std::optional<T> (null or absent is
// nullopt), RawField (any JSON value, kept as written: fields vlv only checks for
// presence), and a nested struct (v.sub: a JSON object with its own fields() and ignored()).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/json.h"
#include "models/config.h"

namespace vlv::models {

// An int, or a list of ints (one per block).
struct IntOrList {
  std::vector<int64_t> values;
  bool list = false;
  IntOrList() = default;
  IntOrList(int64_t v) : values{v} {}  // NOLINT: a default like `IntOrList x = 8;`
  // One value per block: the int repeated, or the list (E_FILE_FORMAT naming `key` if its
  // length is not n).
  std::vector<int64_t> per_block(size_t n, const std::string& source, const std::string& key) const;
};

// A field kept as the JSON the file holds (absent and null: no value).
struct RawField {
  std::optional<json::Value> value;
  bool present() const { return value.has_value(); }
};

// Reads a struct's fields() from a Config.
class ConfigReader {
 public:
  explicit ConfigReader(const Config& c) : c_(c) {}

  template <class T>
  void required(const std::string& key, T& x) {
    VLV_CHECK(c_.has(key), ErrorCode::FileFormat, c_.source(), ": field '", key, "' is required");
    read(key, x);
  }
  template <class T>
  void optional(const std::string& key, T& x) {
    if (c_.has(key)) read(key, x);
  }
  template <class T>
  void optional(const std::string& key, std::optional<T>& x) {
    if (!c_.has(key)) return void(x.reset());
    T v{};
    read(key, v);
    x = std::move(v);
  }
  void optional(const std::string& key, RawField& x) {
    const json::Value* v = c_.raw(key);
    x.value = v ? std::optional<json::Value>(*v) : std::nullopt;
  }
  // A nested object: its fields, then check_unread(S::ignored()) on it.
  template <class S>
  void sub(const std::string& key, S& s) {
    Config c = c_.sub(key);
    ConfigReader r(c);
    s.fields(r);
    c.check_unread(s.ignored());
  }

 private:
  void read(const std::string& key, bool& x) { x = c_.b(key, x); }
  void read(const std::string& key, int64_t& x) { x = c_.i(key); }
  void read(const std::string& key, double& x) { x = c_.f(key); }
  void read(const std::string& key, std::string& x) { x = c_.s(key); }
  void read(const std::string& key, std::vector<int64_t>& x) { x = c_.ints(key); }
  void read(const std::string& key, std::vector<bool>& x) { x = c_.bools(key); }
  void read(const std::string& key, std::vector<std::string>& x) { x = c_.strings(key); }
  void read(const std::string& key, IntOrList& x);

  const Config& c_;
};

// Writes a struct's fields() as a JSON object (members in the fields() order).
class ConfigWriter {
 public:
  template <class T>
  void required(const std::string& key, const T& x) {
    add(key, value(x));
  }
  template <class T>
  void optional(const std::string& key, const T& x) {
    add(key, value(x));
  }
  template <class S>
  void sub(const std::string& key, S& s) {
    ConfigWriter w;
    s.fields(w);
    add(key, w.result());
  }
  json::Value result() const { return json::Value::object(members_); }

 private:
  void add(const std::string& key, json::Value v) { members_.emplace_back(key, std::move(v)); }
  static json::Value value(bool x);
  static json::Value value(int64_t x);
  static json::Value value(double x);
  static json::Value value(const std::string& x);
  static json::Value value(const std::vector<int64_t>& x);
  static json::Value value(const std::vector<bool>& x);
  static json::Value value(const std::vector<std::string>& x);
  static json::Value value(const IntOrList& x);
  static json::Value value(const RawField& x);
  template <class T>
  static json::Value value(const std::optional<T>& x) {
    return x ? value(*x) : json::Value{};
  }

  std::vector<std::pair<std::string, json::Value>> members_;
};

// Validation helpers: E_ARG naming the field when a value vlv does not implement is set.
void expect_number(const std::string& source, const std::string& key, double value, double supported, const char* why);
void expect_string(const std::string& source, const std::string& key, const std::string& value,
                   const std::string& supported);
void expect_null(const std::string& source, const std::string& key, const RawField& value);

// Every field of T read from c (check_unread is left to the caller, after validation).
template <class T>
T read_fields(const Config& c) {
  T t;
  ConfigReader r(c);
  t.fields(r);
  return t;
}

// T's fields as a JSON object (model.config on the JS side).
template <class T>
json::Value config_json(const T& t) {
  ConfigWriter w;
  const_cast<T&>(t).fields(w);  // fields() only reads members when writing
  return w.result();
}

}  // namespace vlv::models
