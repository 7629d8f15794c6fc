#include "ops/attrs.h"

#include "core/error.h"

namespace vlv {

const AttrValue& Attrs::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) fail(ErrorCode::Arg, op_name, ": attribute '", name, "' is required");
  return it->second;
}

int64_t Attrs::i(const std::string& name) const {
  const AttrValue& v = get(name);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  fail(ErrorCode::Arg, op_name, ": attribute '", name, "' must be an integer");
}
int64_t Attrs::i(const std::string& name, int64_t fallback) const { return has(name) ? i(name) : fallback; }

double Attrs::f(const std::string& name) const {
  const AttrValue& v = get(name);
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return double(*p);
  fail(ErrorCode::Arg, op_name, ": attribute '", name, "' must be a number");
}
double Attrs::f(const std::string& name, double fallback) const { return has(name) ? f(name) : fallback; }

std::vector<int64_t> Attrs::ints(const std::string& name) const {
  const AttrValue& v = get(name);
  if (auto p = std::get_if<std::vector<int64_t>>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return {*p};
  fail(ErrorCode::Arg, op_name, ": attribute '", name, "' must be a list of integers");
}
std::vector<int64_t> Attrs::ints(const std::string& name, const std::vector<int64_t>& fallback) const {
  return has(name) ? ints(name) : fallback;
}

std::string Attrs::s(const std::string& name) const {
  const AttrValue& v = get(name);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  fail(ErrorCode::Arg, op_name, ": attribute '", name, "' must be a string");
}
std::string Attrs::s(const std::string& name, const std::string& fallback) const {
  return has(name) ? s(name) : fallback;
}

}  // namespace vlv
