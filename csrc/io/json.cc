#include "io/json.h"

#include <limits>

#include <charconv>
#include <cstdio>
#include <unordered_set>

namespace vlv::json {

const char* type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "a boolean";
    case Type::Number: return "a number";
    case Type::String: return "a string";
    case Type::Array: return "an array";
    case Type::Object: return "an object";
  }
  return "?";
}

const Value* Value::find(std::string_view key) const {
  for (const auto& m : members)
    if (m.first == key) return &m.second;
  return nullptr;
}

Value Value::string(std::string s) {
  Value v;
  v.type = Type::String;
  v.text = std::move(s);
  return v;
}

Value Value::uint(uint64_t x) {
  Value v;
  v.type = Type::Number;
  v.integer = v.fits_u64 = true;
  v.magnitude = x;
  v.number = double(x);
  v.text = std::to_string(x);
  return v;
}

Value Value::array(std::vector<Value> items) {
  Value v;
  v.type = Type::Array;
  v.items = std::move(items);
  return v;
}

Value Value::object(std::vector<std::pair<std::string, Value>> members) {
  Value v;
  v.type = Type::Object;
  v.members = std::move(members);
  return v;
}

namespace {

// Length of the UTF-8 sequence at s[i] (0 if malformed), per RFC 3629 table 3-7.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return k < s.size() ? uint8_t(s[k]) : uint8_t(0); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xbf) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 == 0xe0) return cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 == 0xee || b0 == 0xef) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (b0 == 0xed) return cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;  // no surrogates
  if (b0 == 0xf0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b0 == 0xf4) return cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

std::string describe_byte(char c) {
  uint8_t b = uint8_t(c);
  char buf[16];
  if (b >= 0x20 && b < 0x7f) std::snprintf(buf, sizeof buf, "'%c'", c);
  else std::snprintf(buf, sizeof buf, "byte 0x%02x", b);
  return buf;
}

class Parser {
 public:
  Parser(std::string_view s, const ParseOptions& o) : s_(s), o_(o) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (i_ != s_.size()) error("unexpected " + describe_byte(s_[i_]) + " after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& msg) { throw ParseError(msg, i_); }
  [[noreturn]] void error_at(const std::string& msg, size_t pos) { throw ParseError(msg, pos); }

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }

  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++i_;
  }

  void expect_literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) error("invalid literal (expected '" + std::string(word) + "')");
    i_ += word.size();
  }

  Value value(int depth) {
    if (at_end()) error("unexpected end of input");
    Value v;
    v.pos = i_;
    char c = peek();
    if (c == '{' || c == '[') {
      if (depth >= o_.max_depth) error("nesting deeper than " + std::to_string(o_.max_depth) + " levels");
      if (c == '{') object(v, depth + 1);
      else array(v, depth + 1);
    } else if (c == '"') {
      v.type = Type::String;
      v.text = string();
    } else if (c == 't') {
      expect_literal("true");
      v.type = Type::Bool;
      v.boolean = true;
    } else if (c == 'f') {
      expect_literal("false");
      v.type = Type::Bool;
    } else if (c == 'n') {
      expect_literal("null");
    } else if (o_.allow_nonfinite && (c == 'N' || c == 'I' || s_.substr(i_, 9) == "-Infinity")) {
      nonfinite(v);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      number(v);
    } else {
      error("unexpected " + describe_byte(c));
    }
    return v;
  }

  void nonfinite(Value& v) {
    v.type = Type::Number;
    if (peek() == 'N') {
      expect_literal("NaN");
      v.number = std::numeric_limits<double>::quiet_NaN();
    } else {
      v.negative = peek() == '-';
      if (v.negative) ++i_;
      expect_literal("Infinity");
      v.number = v.negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    }
    v.text = std::string(s_.substr(v.pos, i_ - v.pos));
  }

  void object(Value& v, int depth) {
    v.type = Type::Object;
    ++i_;  // '{'
    std::unordered_set<std::string> seen;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++i_;
      return;
    }
    for (;;) {
      skip_ws();
      if (at_end() || peek() != '"') error(at_end() ? "unexpected end of input in an object" : "expected a string key");
      size_t key_pos = i_;
      std::string key = string();
      if (!o_.allow_duplicate_keys && !seen.insert(key).second) error_at("duplicate key '" + key + "'", key_pos);
      skip_ws();
      if (at_end() || peek() != ':') error("expected ':' after an object key");
      ++i_;
      skip_ws();
      v.members.emplace_back(std::move(key), value(depth));
      skip_ws();
      if (at_end()) error("unexpected end of input in an object");
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == '}') {
        ++i_;
        return;
      }
      error("expected ',' or '}' in an object, got " + describe_byte(peek()));
    }
  }

  void array(Value& v, int depth) {
    v.type = Type::Array;
    ++i_;  // '['
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++i_;
      return;
    }
    for (;;) {
      skip_ws();
      v.items.push_back(value(depth));
      skip_ws();
      if (at_end()) error("unexpected end of input in an array");
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == ']') {
        ++i_;
        return;
      }
      error("expected ',' or ']' in an array, got " + describe_byte(peek()));
    }
  }

  uint32_t hex4() {
    if (i_ + 4 > s_.size()) error("truncated \\u escape");
    uint32_t cp = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_ + size_t(k)];
      uint32_t d;
      if (c >= '0' && c <= '9') d = uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') d = uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = uint32_t(c - 'A' + 10);
      else error("bad hex digit in a \\u escape");
      cp = cp * 16 + d;
    }
    i_ += 4;
    return cp;
  }

  std::string string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) error("unterminated string");
      uint8_t b = uint8_t(peek());
      if (b == '"') {
        ++i_;
        return out;
      }
      if (b < 0x20) error("unescaped control character " + describe_byte(char(b)) + " in a string");
      if (b == '\\') {
        ++i_;
        if (at_end()) error("unterminated string");
        char e = peek();
        ++i_;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            size_t esc = i_ - 2;
            uint32_t cp = hex4();
            if (cp >= 0xdc00 && cp <= 0xdfff) error_at("lone low surrogate in a \\u escape", esc);
            if (cp >= 0xd800 && cp <= 0xdbff) {
              if (s_.substr(i_, 2) != "\\u") error_at("high surrogate not followed by a low surrogate", esc);
              i_ += 2;
              uint32_t lo = hex4();
              if (lo < 0xdc00 || lo > 0xdfff) error_at("high surrogate not followed by a low surrogate", esc);
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            append_utf8(out, cp);
            break;
          }
          default: error_at("invalid escape '\\" + std::string(1, e) + "'", i_ - 2);
        }
        continue;
      }
      size_t n = utf8_sequence(s_, i_);
      if (n == 0) error("invalid UTF-8 " + describe_byte(char(b)) + " in a string");
      out.append(s_.substr(i_, n));
      i_ += n;
    }
  }

  void number(Value& v) {
    v.type = Type::Number;
    size_t start = i_;
    auto digit = [&] { return !at_end() && peek() >= '0' && peek() <= '9'; };
    if (peek() == '-') {
      v.negative = true;
      ++i_;
    }
    if (!digit()) error("expected a digit");
    if (peek() == '0') {
      ++i_;
      if (digit()) error("leading zero in a number");
    } else {
      while (digit()) ++i_;
    }
    size_t int_end = i_;
    bool frac_or_exp = false;
    if (!at_end() && peek() == '.') {
      ++i_;
      if (!digit()) error("expected a digit after '.'");
      while (digit()) ++i_;
      frac_or_exp = true;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++i_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++i_;
      if (!digit()) error("expected a digit in an exponent");
      while (digit()) ++i_;
      frac_or_exp = true;
    }
    v.text.assign(s_.substr(start, i_ - start));
    v.integer = !frac_or_exp;
    if (v.integer) {
      size_t ds = start + (v.negative ? 1 : 0);
      auto r = std::from_chars(s_.data() + ds, s_.data() + int_end, v.magnitude);
      v.fits_u64 = r.ec == std::errc();
      if (!v.fits_u64) v.magnitude = 0;
    }
    std::from_chars(v.text.data(), v.text.data() + v.text.size(), v.number);  // ERANGE: keeps +-inf/0
  }

  std::string_view s_;
  const ParseOptions& o_;
  size_t i_ = 0;
};

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    uint8_t b = uint8_t(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (b < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", b);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

void write_value(std::string& out, const Value& v) {
  switch (v.type) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += v.boolean ? "true" : "false"; break;
    case Type::Number: out += v.text; break;
    case Type::String: write_string(out, v.text); break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        write_value(out, v.items[i]);
      }
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        write_string(out, v.members[i].first);
        out += ':';
        write_value(out, v.members[i].second);
      }
      out += '}';
      break;
  }
}

}  // namespace

Value parse(std::string_view text, const ParseOptions& options) { return Parser(text, options).document(); }

bool valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t n = utf8_sequence(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string write(const Value& v) {
  std::string out;
  write_value(out, v);
  return out;
}

}  // namespace vlv::json
