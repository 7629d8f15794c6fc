// Config: typed, tracked reads of a Hugging Face config.json. A model's typed config
// (config_fields.h) reads every field it honours; check_unread() then rejects any field it
// did not read and did not list as irrelevant to the computation, so no setting is ever
// silently ignored.
#pragma once
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/json.h"

namespace vlv::models {

class Config {
 public:
  // Parses text (Python's JSON extensions NaN/Infinity/-Infinity are accepted: diffusers
  // writes them). source names the file in messages.
  static Config parse(const std::string& text, const std::string& source);
  static Config load(const std::string& path);

  bool has(const std::string& key) const;
  int64_t i(const std::string& key) const;
  int64_t i(const std::string& key, int64_t fallback) const;
  double f(const std::string& key) const;
  double f(const std::string& key, double fallback) const;
  bool b(const std::string& key, bool fallback) const;
  std::string s(const std::string& key) const;
  std::string s(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> ints(const std::string& key) const;
  std::vector<bool> bools(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;
  Config sub(const std::string& key) const;  // a nested object (e.g. "vision_config")
  // The field's JSON as written (marked read), or null when it is absent or null.
  const json::Value* raw(const std::string& key) const { return find(key); }

  // E_ARG naming the first field neither read nor listed in `irrelevant`.
  void check_unread(const std::vector<std::string>& irrelevant) const;

  // A copy with the top-level string field `key` set to `value` (added when absent), read as
  // another class would read the same file (diffusers' from_config with another class).
  Config with_string(const std::string& key, const std::string& value) const;
  // Marks every field read: from_config semantics, where fields the class does not take are
  // dropped (a scheduler config read by another scheduler class).
  void ignore_unread() const;

  const std::string& source() const { return source_; }

 private:
  Config(std::shared_ptr<const json::Value> root, const json::Value* node, std::string source);
  const json::Value& get(const std::string& key, json::Type type) const;
  const json::Value* find(const std::string& key) const;

  std::shared_ptr<const json::Value> root_;
  const json::Value* node_;
  std::string source_;
  std::shared_ptr<std::set<std::string>> read_;
};

}  // namespace vlv::models
