#include "common/jose/json.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/jose/key_internal.h"

namespace oauthdemo::jose {
namespace {

using json = nlohmann::json;

// A SAX handler that builds the DOM itself so it can refuse, while parsing, what nlohmann's own
// DOM parser silently accepts: repeated member names (compared after unescaping, so "\u0069ss"
// equals "iss") and nesting deeper than the cap. nlohmann's SAX driver is iterative, so deep
// input never recurses before we stop it.
class StrictDomBuilder {
 public:
  StrictDomBuilder(json& root, std::size_t max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return put(json(v)); }
  bool string(json::string_t& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& /*v*/) { return fail_with(Errc::TokenBadJson, "unexpected binary value"); }

  bool start_object(std::size_t /*size*/) {
    if (stack_.size() >= max_depth_) return too_deep();
    json* slot = place(json::object());
    if (slot == nullptr) return false;
    stack_.push_back(slot);
    return true;
  }
  bool key(json::string_t& name) {
    json& object = *stack_.back();
    const std::size_t before = object.size();
    json& slot = object[std::move(name)];
    if (object.size() == before) return fail_with(Errc::TokenDuplicateMember, "a JSON object repeats a member name");
    pending_ = &slot;
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*size*/) {
    if (stack_.size() >= max_depth_) return too_deep();
    json* slot = place(json::array());
    if (slot == nullptr) return false;
    stack_.push_back(slot);
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& ex) {
    // The exception text quotes input ("last read: ..."): report only the kind and the offset.
    const std::string what = ex.what();
    std::string kind = "invalid JSON";
    if (what.find("UTF-8") != std::string::npos || what.find("surrogate") != std::string::npos)
      kind = "invalid UTF-8 or unicode escape in JSON";
    else if (what.find("number overflow") != std::string::npos)
      kind = "JSON number out of range";
    else if (what.find("expected end of input") != std::string::npos)
      kind = "trailing data after JSON value";
    return fail_with(Errc::TokenBadJson, kind + " at byte " + std::to_string(position > 0 ? position - 1 : 0));
  }

  Errc code() const { return code_; }
  const std::string& detail() const { return detail_; }

 private:
  bool put(json&& value) { return place(std::move(value)) != nullptr; }

  json* place(json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(value));
      return &top.back();
    }
    *pending_ = std::move(value);
    return pending_;
  }
  bool too_deep() {
    return fail_with(Errc::TokenTooDeep, "JSON nesting is deeper than " + std::to_string(max_depth_) + " levels");
  }
  bool fail_with(Errc code, std::string detail) {
    code_ = code;
    detail_ = std::move(detail);
    return false;
  }

  json& root_;
  std::size_t max_depth_;
  std::vector<json*> stack_;
  json* pending_ = nullptr;
  Errc code_ = Errc::TokenBadJson;
  std::string detail_ = "invalid JSON";
};

// Fast path for the common shape of token headers and claims: ASCII strings with at most the
// simple escapes, integers of up to 18 digits, true/false/null, shallow nesting. It builds the
// same DOM nlohmann's parser would (non-negative integers as number_unsigned, negative ones as
// number_integer) and gives up -- returning false, so the strict nlohmann SAX parser above
// decides and words any error -- on everything else: \u escapes, bytes >= 0x80 (UTF-8 is
// validated by nlohmann), control characters, fractions and exponents, long integers, repeated
// member names, depth beyond the limit, any syntax error. nlohmann's lexer costs ~3 us on an
// Auth0-sized claims set; this parser ~1.5 us, most of it the DOM itself (profiled with perf).
class FastParser {
 public:
  FastParser(std::string_view text, std::size_t max_depth)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth < 64 ? max_depth : 64) {}

  bool parse(json& out) {
    if (!value(out, 0)) return false;
    skip_ws();
    return p_ == end_;
  }

 private:
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  bool value(json& out, std::size_t depth) {
    skip_ws();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = std::move(s);
        return true;
      }
      case 't': out = true; return literal("true");
      case 'f': out = false; return literal("false");
      case 'n': out = nullptr; return literal("null");
      default: return number(out);
    }
  }
  bool string(std::string& out) {
    ++p_;  // opening quote
    const char* run = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(run, p_);
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x7f) return false;  // DEL and non-ASCII: nlohmann decides
      if (c == '\\') {
        out.append(run, p_);
        if (++p_ == end_) return false;
        switch (*p_) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case '/': out.push_back('/'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 't': out.push_back('\t'); break;
          default: return false;  // \u (surrogates, NUL ...) and invalid escapes: nlohmann decides
        }
        run = ++p_;
        continue;
      }
      ++p_;
    }
    return false;
  }
  bool number(json& out) {
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    const char* digits = p_;
    std::uint64_t v = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') v = v * 10 + static_cast<std::uint64_t>(*p_++ - '0');
    const auto n = static_cast<std::size_t>(p_ - digits);
    if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return false;
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    if (negative) {
      out = -static_cast<json::number_integer_t>(v);
    } else {
      out = static_cast<json::number_unsigned_t>(v);
    }
    return true;
  }
  bool object(json& out, std::size_t depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = json::object();
    auto& members = *out.get_ptr<json::object_t*>();
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') return false;
      std::string name;
      if (!string(name)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      auto [slot, inserted] = members.try_emplace(std::move(name));
      if (!inserted) return false;  // repeated member: the strict parser reports it
      if (!value(slot->second, depth + 1)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return false;
      ++p_;
      return true;
    }
  }
  bool array(json& out, std::size_t depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = json::array();
    auto& items = *out.get_ptr<json::array_t*>();
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!value(items.emplace_back(), depth + 1)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      return true;
    }
  }

  const char* p_;
  const char* end_;
  std::size_t max_depth_;
};

}  // namespace

namespace internal {
bool fast_parse_json(std::string_view text, std::size_t max_depth, nlohmann::json& out) {
  FastParser parser(text, max_depth);
  return parser.parse(out);
}
}  // namespace internal

Result<nlohmann::json> parse_strict_json(std::string_view text, const JsonLimits& limits) {
  {
    json fast;
    if (internal::fast_parse_json(text, limits.max_depth, fast)) return fast;
  }
  json root;
  StrictDomBuilder builder(root, limits.max_depth);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true, /*ignore_comments=*/false);
  } catch (const std::exception&) {
    return fail(Errc::TokenBadJson, "JSON could not be parsed");
  }
  if (!ok) return fail(builder.code(), builder.detail());
  return root;
}

Result<nlohmann::json> parse_strict_object(std::string_view text, const JsonLimits& limits) {
  auto parsed = parse_strict_json(text, limits);
  if (!parsed) return parsed;
  if (!parsed->is_object()) return fail(Errc::TokenBadJson, "JSON value is not an object");
  return parsed;
}

}  // namespace oauthdemo::jose
