#include "models/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace vlv::models {

Config::Config(std::shared_ptr<const json::Value> root, const json::Value* node, std::string source)
    : root_(std::move(root)),
      node_(node),
      source_(std::move(source)),
      read_(std::make_shared<std::set<std::string>>()) {}

Config Config::parse(const std::string& text, const std::string& source) {
  json::ParseOptions opts;
  opts.allow_nonfinite = true;
  std::shared_ptr<const json::Value> root;
  try {
    root = std::make_shared<const json::Value>(json::parse(text, opts));
  } catch (const json::ParseError& e) {
    fail(ErrorCode::FileFormat, source, ": invalid JSON at byte ", e.pos(), ": ", e.what());
  }
  VLV_CHECK(root->type == json::Type::Object, ErrorCode::FileFormat, source, ": a config must be a JSON object");
  return Config(root, root.get(), source);
}

Config Config::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VLV_CHECK(in, ErrorCode::File, path, ": cannot open the config");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

const json::Value* Config::find(const std::string& key) const {
  const json::Value* v = node_->find(key);
  if (v && v->type != json::Type::Null) read_->insert(key);
  else if (v) read_->insert(key);  // an explicit null reads as absent
  return v && v->type != json::Type::Null ? v : nullptr;
}

bool Config::has(const std::string& key) const { return find(key) != nullptr; }

const json::Value& Config::get(const std::string& key, json::Type type) const {
  const json::Value* v = find(key);
  VLV_CHECK(v, ErrorCode::FileFormat, source_, ": field '", key, "' is required");
  VLV_CHECK(v->type == type, ErrorCode::FileFormat, source_, ": field '", key, "' must be ", json::type_name(type),
            ", not ", json::type_name(v->type));
  return *v;
}

int64_t Config::i(const std::string& key) const {
  const json::Value& v = get(key, json::Type::Number);
  VLV_CHECK(std::isfinite(v.number) && v.number == std::floor(v.number), ErrorCode::FileFormat, source_, ": field '",
            key, "' must be an integer, not ", v.text);
  return int64_t(v.number);
}
int64_t Config::i(const std::string& key, int64_t fallback) const { return has(key) ? i(key) : fallback; }

double Config::f(const std::string& key) const { return get(key, json::Type::Number).number; }
double Config::f(const std::string& key, double fallback) const { return has(key) ? f(key) : fallback; }

bool Config::b(const std::string& key, bool fallback) const {
  return has(key) ? get(key, json::Type::Bool).boolean : fallback;
}

std::string Config::s(const std::string& key) const { return get(key, json::Type::String).text; }
std::string Config::s(const std::string& key, const std::string& fallback) const {
  return has(key) ? s(key) : fallback;
}

std::vector<int64_t> Config::ints(const std::string& key) const {
  const json::Value& v = get(key, json::Type::Array);
  std::vector<int64_t> out;
  for (const json::Value& e : v.items) {
    VLV_CHECK(e.type == json::Type::Number && e.number == std::floor(e.number), ErrorCode::FileFormat, source_,
              ": field '", key, "' must be a list of integers");
    out.push_back(int64_t(e.number));
  }
  return out;
}

std::vector<bool> Config::bools(const std::string& key) const {
  std::vector<bool> out;
  for (const json::Value& e : get(key, json::Type::Array).items) {
    VLV_CHECK(e.type == json::Type::Bool, ErrorCode::FileFormat, source_, ": field '", key,
              "' must be a list of booleans");
    out.push_back(e.boolean);
  }
  return out;
}

std::vector<std::string> Config::strings(const std::string& key) const {
  std::vector<std::string> out;
  for (const json::Value& e : get(key, json::Type::Array).items) {
    VLV_CHECK(e.type == json::Type::String, ErrorCode::FileFormat, source_, ": field '", key,
              "' must be a list of strings");
    out.push_back(e.text);
  }
  return out;
}

Config Config::sub(const std::string& key) const {
  const json::Value& v = get(key, json::Type::Object);
  Config c(root_, &v, source_ + " [" + key + "]");
  return c;
}

void Config::check_unread(const std::vector<std::string>& irrelevant) const {
  for (const auto& [key, value] : node_->members) {
    if (read_->count(key)) continue;
    bool skip = false;
    for (const std::string& k : irrelevant) skip = skip || k == key;
    if (!skip)
      fail(ErrorCode::Arg, source_, ": field '", key, "' is not supported by vlv (it would be silently ignored)");
  }
}

Config Config::with_string(const std::string& key, const std::string& value) const {
  json::Value copy = *node_;
  bool set = false;
  for (auto& [k, v] : copy.members)
    if (k == key) v = json::Value::string(value), set = true;
  if (!set) copy.members.emplace_back(key, json::Value::string(value));
  auto root = std::make_shared<const json::Value>(std::move(copy));
  const json::Value* node = root.get();
  return Config(std::move(root), node, source_);
}

void Config::ignore_unread() const {
  for (const auto& [key, value] : node_->members) read_->insert(key);
}

}  // namespace vlv::models
