#include "common/config/usage.h"

#include <vector>

#include <CLI/CLI.hpp>

#include "common/base/suggest.h"

namespace oauthdemo::config {
namespace {

// The chain of subcommands given on the command line, root first.
std::vector<const CLI::App*> given_chain(const CLI::App& app) {
  std::vector<const CLI::App*> chain{&app};
  for (;;) {
    const auto subs = chain.back()->get_subcommands();
    if (subs.empty()) return chain;
    chain.push_back(subs.front());
  }
}

std::string command_path(const std::vector<const CLI::App*>& chain, std::string_view program) {
  std::string path(program);
  for (std::size_t i = 1; i < chain.size(); ++i) path += " " + chain[i]->get_name();
  return path;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); }))
    names.push_back(sub->get_name());
  return names;
}

// Every flag spelling valid here: the command's own and, through fallthrough, its parents'.
std::vector<std::string> option_names(const std::vector<const CLI::App*>& chain) {
  std::vector<std::string> names;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const auto* opt : (*it)->get_options()) {
      for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
      for (const auto& s : opt->get_snames()) names.push_back("-" + s);
    }
    if (!(*it)->get_fallthrough()) break;
  }
  return names;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  const auto near = nearest(word, candidates);
  return near ? "; did you mean " + *near + "?" : "";
}

}  // namespace

std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& error, std::string_view program) {
  const auto chain = given_chain(app);
  const CLI::App& last = *chain.back();
  const auto extras = app.remaining(true);
  const auto commands = subcommand_names(last);
  const std::string where = chain.size() > 1 ? " for '" + command_path(chain, program) + "'" : "";
  // A word where a command was due (CLI11 says "A subcommand is required" even when one was given).
  if (!commands.empty()) {
    for (const auto& word : extras) {
      if (word.empty() || word.front() == '-') continue;
      return "unknown command '" + word + "'" + where + suggestion(word, commands);
    }
  }
  for (const auto& word : extras) {
    if (word.size() < 2 || word.front() != '-') continue;
    const std::string flag = word.substr(0, word.find('='));
    return "unknown option '" + flag + "'" + where + suggestion(flag, option_names(chain));
  }
  if (!commands.empty() && extras.empty() && dynamic_cast<const CLI::RequiredError*>(&error) != nullptr &&
      std::string_view(error.what()).find("ubcommand") != std::string_view::npos) {
    std::string list;
    for (const auto& c : commands) list += (list.empty() ? "" : ", ") + c;
    return "a command is required" + where + ": " + list;
  }
  if (!extras.empty()) return "unexpected argument '" + extras.front() + "'" + where;
  return error.what();
}

std::string usage_error_text(const CLI::App& app, const CLI::ParseError& error, std::string_view program) {
  const std::string p(program);
  return p + ": error: " + describe_parse_error(app, error, program) + "\n" + p + ": run '" +
         command_path(given_chain(app), program) + " --help' for the usage\n";
}

}  // namespace oauthdemo::config
