// A small strict JSON reader and compact writer for file headers (safetensors, index files).
// Strict: RFC 8259 grammar only (no comments, no trailing commas, no NaN), strings must be
// valid UTF-8 (overlongs, surrogates and code points past U+10FFFF rejected), \uXXXX escapes
// must pair surrogates, nesting is depth-limited (the recursion is bounded by max_depth, so
// hostile input cannot overflow the stack), and duplicate object keys are an error unless the
// caller allows them. Every error carries the byte position where it was found.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vlv::json {

enum class Type { Null, Bool, Number, String, Array, Object };
const char* type_name(Type t);  // "null", "a number", "an object", ...

struct Value {
  Type type = Type::Null;
  size_t pos = 0;  // byte offset of the value's first character in the parsed text
  bool boolean = false;
  // Numbers: the value as a double, and exactly when it is written as an integer (no
  // fraction, no exponent) that fits 64 bits in magnitude.
  double number = 0;
  bool integer = false;                                // written without fraction or exponent
  bool negative = false;                               // leading '-'
  bool fits_u64 = false;                               // integer magnitude fits a uint64
  uint64_t magnitude = 0;                              // |value| when fits_u64
  std::string text;                                    // String: the decoded UTF-8; Number: the literal as written
  std::vector<Value> items;                            // Array
  std::vector<std::pair<std::string, Value>> members;  // Object, in file order

  const Value* find(std::string_view key) const;  // first member with that key, or null

  static Value string(std::string s);
  static Value uint(uint64_t v);
  static Value array(std::vector<Value> items);
  static Value object(std::vector<std::pair<std::string, Value>> members);
};

class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& message, size_t pos) : std::runtime_error(message), pos_(pos) {}
  size_t pos() const { return pos_; }  // byte offset in the parsed text

 private:
  size_t pos_;
};

struct ParseOptions {
  int max_depth = 64;  // arrays/objects nested deeper fail
  bool allow_duplicate_keys = false;
  // Python's json extensions NaN, Infinity, -Infinity (diffusers writes them in configs).
  bool allow_nonfinite = false;
};

// Parses a whole document (whitespace allowed around it, nothing else). Throws ParseError.
Value parse(std::string_view text, const ParseOptions& options = {});

// Whether bytes are well-formed UTF-8 (the rule parse() applies to strings).
bool valid_utf8(std::string_view bytes);

// Compact serialisation (no spaces); members in their stored order.
std::string write(const Value& v);

}  // namespace vlv::json
