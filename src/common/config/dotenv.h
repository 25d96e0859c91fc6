#pragma once
// .env files (the seed's backend/.env) and layered settings with provenance, so every error can
// name the setting and where it was read.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.h"

namespace oauthdemo::config {

struct DotenvEntry {
  std::string value;
  int line = 0;
};
using DotenvMap = std::map<std::string, DotenvEntry, std::less<>>;

// Parses KEY=value lines: blank lines and '#' comments skipped, an optional "export " prefix,
// values optionally in single quotes (literal) or double quotes (\n \" \\ escapes), unquoted
// values trimmed and cut at " #". Keys are [A-Za-z_][A-Za-z0-9_]*. Errc::ConfigInvalid naming
// `origin` and the line number; at most 64 KiB and 1000 entries.
Result<DotenvMap> parse_dotenv(std::string_view text, std::string_view origin);

// Reads and parses a file. Errc::ConfigFileUnreadable if it cannot be read (callers treat a
// missing optional .env as empty by checking existence first).
Result<DotenvMap> read_dotenv_file(const std::string& path);

struct Setting {
  std::string value;
  std::string origin;  // "--audience", "environment variable API_AUDIENCE", "/x/.env line 3", "default"
};

// Layers are searched in the order they were added: add the highest priority first
// (flags, then the environment, then .env, then config files, then defaults).
class LayeredSettings {
 public:
  void add_layer(std::string origin, std::map<std::string, std::string, std::less<>> values);
  void add_dotenv_layer(const std::string& path, const DotenvMap& values);
  // Each name is looked up in the process environment, in the given order of preference.
  void add_environment_layer(const std::vector<std::string>& names);

  std::optional<Setting> get(std::string_view name) const;
  // Value or fallback (origin "default").
  Setting get_or(std::string_view name, std::string fallback) const;

 private:
  struct Layer {
    std::string origin;
    std::map<std::string, Setting, std::less<>> values;
  };
  std::vector<Layer> layers_;
};

}  // namespace oauthdemo::config
