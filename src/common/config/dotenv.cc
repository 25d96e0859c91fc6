#include "common/config/dotenv.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace oauthdemo::config {
namespace {

constexpr std::size_t kMaxBytes = 64 * 1024;
constexpr std::size_t kMaxEntries = 1000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_key(std::string_view key) {
  if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_')) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<DotenvMap> parse_dotenv(std::string_view text, std::string_view origin) {
  if (text.size() > kMaxBytes)
    return fail(Errc::ConfigInvalid, std::string(origin) + " is larger than 64 KiB");
  DotenvMap out;
  int line_no = 0;
  size_t pos = 0;
  auto where = [&]() { return std::string(origin) + " line " + std::to_string(line_no); };
  while (pos < text.size()) {
    ++line_no;
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail(Errc::ConfigInvalid, where() + ": expected KEY=value");
    const std::string_view key = trim(line.substr(0, eq));
    if (!valid_key(key))
      return fail(Errc::ConfigInvalid, where() + ": '" + std::string(key) + "' is not a valid setting name");
    std::string_view raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char quote = raw.front();
      size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
          char n = raw[++i];
          value += n == 'n' ? '\n' : n;
        } else {
          value += c;
        }
      }
      if (!closed) return fail(Errc::ConfigInvalid, where() + ": unterminated quoted value for " + std::string(key));
      std::string_view after = trim(raw.substr(i + 1));
      if (!after.empty() && after.front() != '#')
        return fail(Errc::ConfigInvalid, where() + ": unexpected text after the quoted value of " + std::string(key));
    } else {
      const auto comment = raw.find(" #");
      value = std::string(trim(raw.substr(0, comment)));
    }
    if (out.size() >= kMaxEntries && !out.contains(key))
      return fail(Errc::ConfigInvalid, std::string(origin) + " has more than 1000 settings");
    out[std::string(key)] = DotenvEntry{std::move(value), line_no};
  }
  return out;
}

Result<DotenvMap> read_dotenv_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::ConfigFileUnreadable, "cannot read " + path);
  std::string text;
  text.resize(kMaxBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return parse_dotenv(text, path);
}

void LayeredSettings::add_layer(std::string origin, std::map<std::string, std::string, std::less<>> values) {
  Layer layer{origin, {}};
  for (auto& [k, v] : values) layer.values[k] = Setting{std::move(v), origin};
  layers_.push_back(std::move(layer));
}

void LayeredSettings::add_dotenv_layer(const std::string& path, const DotenvMap& values) {
  Layer layer{path, {}};
  for (const auto& [k, entry] : values) layer.values[k] = Setting{entry.value, path + " line " + std::to_string(entry.line)};
  layers_.push_back(std::move(layer));
}

void LayeredSettings::add_environment_layer(const std::vector<std::string>& names) {
  Layer layer{"environment", {}};
  for (const auto& name : names) {
    if (const char* v = std::getenv(name.c_str()); v != nullptr && *v != '\0')
      layer.values[name] = Setting{v, "environment variable " + name};
  }
  layers_.push_back(std::move(layer));
}

std::optional<Setting> LayeredSettings::get(std::string_view name) const {
  for (const auto& layer : layers_) {
    if (auto it = layer.values.find(name); it != layer.values.end()) return it->second;
  }
  return std::nullopt;
}

Setting LayeredSettings::get_or(std::string_view name, std::string fallback) const {
  if (auto s = get(name)) return *s;
  return Setting{std::move(fallback), "default"};
}

}  // namespace oauthdemo::config
