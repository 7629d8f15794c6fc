#include "models/config_fields.h"

#include <cmath>
#include <cstdio>

namespace vlv::models {

std::vector<int64_t> IntOrList::per_block(size_t n, const std::string& source, const std::string& key) const {
  if (!list) return std::vector<int64_t>(n, values.empty() ? 0 : values[0]);
  VLV_CHECK(values.size() == n, ErrorCode::FileFormat, source, ": field '", key, "' has ", values.size(),
            " entries, expected ", n);
  return values;
}

void expect_number(const std::string& source, const std::string& key, double value, double supported, const char* why) {
  VLV_CHECK(value == supported, ErrorCode::Arg, source, ": field '", key, "' = ", value, " is not supported (", why,
            ")");
}

void expect_string(const std::string& source, const std::string& key, const std::string& value,
                   const std::string& supported) {
  VLV_CHECK(value == supported, ErrorCode::Arg, source, ": field '", key, "' = '", value, "' is not supported (only '",
            supported, "')");
}

void expect_null(const std::string& source, const std::string& key, const RawField& value) {
  VLV_CHECK(!value.present(), ErrorCode::Arg, source, ": field '", key, "' is not supported (only null)");
}

void ConfigReader::read(const std::string& key, IntOrList& x) {
  const json::Value* v = c_.raw(key);
  x.list = v && v->type == json::Type::Array;
  x.values = x.list ? c_.ints(key) : std::vector<int64_t>{c_.i(key)};
}

json::Value ConfigWriter::value(bool x) {
  json::Value v;
  v.type = json::Type::Bool;
  v.boolean = x;
  return v;
}

json::Value ConfigWriter::value(int64_t x) {
  json::Value v;
  v.type = json::Type::Number;
  v.number = double(x);
  v.integer = v.fits_u64 = true;
  v.negative = x < 0;
  v.magnitude = x < 0 ? 0 - uint64_t(x) : uint64_t(x);
  v.text = std::to_string(x);
  return v;
}

json::Value ConfigWriter::value(double x) {
  json::Value v;
  v.type = json::Type::Number;
  v.number = x;
  v.negative = std::signbit(x);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  v.text = buf;
  return v;
}

json::Value ConfigWriter::value(const std::string& x) { return json::Value::string(x); }

json::Value ConfigWriter::value(const std::vector<int64_t>& x) {
  std::vector<json::Value> items;
  for (int64_t e : x) items.push_back(value(e));
  return json::Value::array(std::move(items));
}

json::Value ConfigWriter::value(const std::vector<bool>& x) {
  std::vector<json::Value> items;
  for (bool e : x) items.push_back(value(e));
  return json::Value::array(std::move(items));
}

json::Value ConfigWriter::value(const std::vector<std::string>& x) {
  std::vector<json::Value> items;
  for (const std::string& e : x) items.push_back(value(e));
  return json::Value::array(std::move(items));
}

json::Value ConfigWriter::value(const IntOrList& x) {
  if (x.list) return value(x.values);
  return x.values.empty() ? json::Value{} : value(x.values[0]);
}

json::Value ConfigWriter::value(const RawField& x) { return x.value ? *x.value : json::Value{}; }

}  // namespace vlv::models
