// Attrs: the named, non-tensor arguments of an op call ({"trans_b": 1, "eps": 1e-5, ...}).
// Getters with a default are optional attributes; the others throw E_ARG naming the op
// and the attribute, so a missing or mistyped attribute never passes silently.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace vlv {

using AttrValue = std::variant<int64_t, double, std::vector<int64_t>, std::string>;

class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, AttrValue>> init) : values_(init) {}

  Attrs& set(const std::string& name, AttrValue v) {
    values_[name] = std::move(v);
    return *this;
  }
  bool has(const std::string& name) const { return values_.count(name) > 0; }

  int64_t i(const std::string& name) const;
  int64_t i(const std::string& name, int64_t fallback) const;
  double f(const std::string& name) const;  // an int value is accepted too
  double f(const std::string& name, double fallback) const;
  bool b(const std::string& name, bool fallback) const { return i(name, fallback ? 1 : 0) != 0; }
  std::vector<int64_t> ints(const std::string& name) const;
  std::vector<int64_t> ints(const std::string& name, const std::vector<int64_t>& fallback) const;
  std::string s(const std::string& name) const;
  std::string s(const std::string& name, const std::string& fallback) const;

  const std::map<std::string, AttrValue>& values() const { return values_; }
  // The op being run, for error messages (set by the dispatcher).
  std::string op_name;

 private:
  const AttrValue& get(const std::string& name) const;
  std::map<std::string, AttrValue> values_;
};

}  // namespace vlv
