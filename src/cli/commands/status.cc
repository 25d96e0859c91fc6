#include "cli/commands/status.h"

#include <ostream>

#include "cli/session.h"

namespace oauthdemo::cli {

CLI::App* setup_status(CLI::App& parent, StatusOptions& options) {
  auto* cmd = parent.add_subcommand("status", "Show whether you are logged in (exit 0) or not (exit 4)");
  cmd->add_flag("--json", options.json, "Machine-readable output");
  cmd->footer("Examples:\n  oauthdemo status\n  oauthdemo status --json | jq .logged_in");
  return cmd;
}

Result<int> run_status(Context& ctx, const StatusOptions& options) {
  const auto now = ctx.clock->now();
  auto current = load_current(ctx);
  if (!current && current.error().code != Errc::LoginRequired) return tl::unexpected(current.error());
  nlohmann::json j = {{"profile", ctx.settings->profile()}, {"store", ctx.store->location()}};
  bool logged_in = false;
  if (current) {
    const auto& t = current->tokens;
    const bool expired = t.expires_at != 0 && t.expires_at <= to_unix(now);
    const bool refreshable = !t.refresh_token.empty();
    logged_in = !expired || refreshable;
    auto claims = peek_claims(t.id_token.empty() ? t.access_token : t.id_token);
    auto str = [&](const char* name) {
      return claims.contains(name) && claims[name].is_string() ? claims[name].get<std::string>() : std::string();
    };
    j["source"] = current->source == TokenSource::Environment ? "environment" : "store";
    j["issuer"] = t.issuer;
    j["client_id"] = t.client_id;
    j["grant"] = t.grant;
    j["subject"] = str("sub");
    j["name"] = str("name");
    j["email"] = str("email");
    j["expires_at"] = t.expires_at;
    j["expired"] = expired;
    j["refresh_token"] = refreshable;
    if (!options.json) {
      std::string who = str("name").empty() ? str("sub") : str("name");
      if (!str("email").empty()) who += " <" + str("email") + ">";
      if (t.grant == "client_credentials") who = "client " + t.client_id;
      auto& o = ctx.o();
      o << (logged_in ? "Logged in" : "Session expired") << " as " << (who.empty() ? "(unknown)" : who) << "\n";
      o << "  Issuer:        " << (t.issuer.empty() ? "(unknown)" : t.issuer) << "\n";
      o << "  Access token:  " << (expired ? "expired " : "valid until ") << describe_expiry(t.expires_at, now) << "\n";
      o << "  Refresh token: " << (refreshable ? "stored" : "none") << "\n";
      o << "  Stored in:     "
        << (current->source == TokenSource::Environment ? "OAUTHDEMO_ACCESS_TOKEN (environment)" : ctx.store->location())
        << "\n";
      if (!logged_in) o << "Run: oauthdemo login\n";
    }
  } else if (!options.json) {
    ctx.o() << "Not logged in (profile " << ctx.settings->profile() << "). Run: oauthdemo login\n";
  }
  j["logged_in"] = logged_in;
  if (options.json) ctx.o() << j.dump(2) << "\n";
  return logged_in ? kExitOk : kExitLoginRequired;
}

}  // namespace oauthdemo::cli
