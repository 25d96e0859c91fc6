#include "cli/commands/token.h"

#include <ostream>

#include "cli/browser.h"
#include "cli/session.h"

namespace oauthdemo::cli {

std::pair<CLI::App*, CLI::App*> setup_token(CLI::App& parent, TokenOptions& options) {
  auto* token = parent.add_subcommand("token", "Show or refresh the stored tokens");
  token->require_subcommand(1);
  auto* show = token->add_subcommand("show", "Show the current access token's details (refreshing it if expired)");
  auto* json = show->add_flag("--json", options.json, "Machine-readable output (includes the access token)");
  auto* raw = show->add_flag("--raw", options.raw, "Print only the access token, e.g. for $(oauthdemo token show --raw)");
  auto* header = show->add_flag("--header", options.header, "Print 'Authorization: Bearer <token>'");
  auto* env = show->add_flag("--env", options.env, "Print shell export lines");
  json->excludes(raw)->excludes(header)->excludes(env);
  raw->excludes(header)->excludes(env);
  header->excludes(env);
  show->add_flag("--include-refresh", options.include_refresh, "Also print the refresh token (--json / --env)");
  show->footer(
      "Examples:\n  oauthdemo token show\n  curl -H \"$(oauthdemo token show --header)\" http://localhost:3001/hello\n"
      "  eval \"$(oauthdemo token show --env)\"");
  auto* refresh = token->add_subcommand("refresh", "Spend the refresh token now and store the rotated tokens");
  refresh->footer("Example:\n  oauthdemo token refresh");
  return {show, refresh};
}

Result<int> run_token_show(Context& ctx, const TokenOptions& options) {
  auto current = current_fresh_tokens(ctx);
  if (!current) return tl::unexpected(current.error());
  const auto& t = current->tokens;
  const auto now = ctx.clock->now();
  if (options.raw) {
    ctx.o() << t.access_token << "\n";
    return kExitOk;
  }
  if (options.header) {
    ctx.o() << "Authorization: Bearer " << t.access_token << "\n";
    return kExitOk;
  }
  if (options.env) {
    ctx.o() << "export OAUTHDEMO_ACCESS_TOKEN=" << shell_quote(t.access_token) << "\n";
    if (options.include_refresh && !t.refresh_token.empty())
      ctx.o() << "export OAUTHDEMO_REFRESH_TOKEN=" << shell_quote(t.refresh_token) << "\n";
    return kExitOk;
  }
  const auto at_claims = peek_claims(t.access_token);
  const auto id_claims = peek_claims(t.id_token);
  nlohmann::json profile = nlohmann::json::object();
  for (const char* name : {"sub", "name", "nickname", "email", "email_verified", "picture", "updated_at"}) {
    if (id_claims.contains(name)) profile[name] = id_claims[name];
  }
  nlohmann::json permissions = at_claims.contains("permissions") ? at_claims["permissions"] : nlohmann::json::array();
  nlohmann::json audience = at_claims.contains("aud") ? at_claims["aud"] : nlohmann::json(t.audience);
  std::string scope = at_claims.contains("scope") && at_claims["scope"].is_string() ? at_claims["scope"].get<std::string>()
                                                                                   : t.scope;
  std::string subject = at_claims.contains("sub") && at_claims["sub"].is_string() ? at_claims["sub"].get<std::string>()
                                                                                 : profile.value("sub", "");
  if (options.json) {
    nlohmann::json j = {{"issuer", t.issuer},
                        {"client_id", t.client_id},
                        {"subject", subject},
                        {"audience", audience},
                        {"scope", scope},
                        {"permissions", permissions},
                        {"expires_at", t.expires_at},
                        {"expires_in", t.expires_at == 0 ? 0 : t.expires_at - to_unix(now)},
                        {"token_type", t.token_type},
                        {"jwt", oauth::looks_like_jwt(t.access_token)},
                        {"refresh_token_present", !t.refresh_token.empty()},
                        {"profile", profile},
                        {"source", current->source == TokenSource::Environment ? "environment" : "store"},
                        {"store", ctx.store->location()},
                        {"access_token", t.access_token}};
    if (options.include_refresh) j["refresh_token"] = t.refresh_token;
    ctx.o() << j.dump(2) << "\n";
    return kExitOk;
  }
  auto& o = ctx.o();
  o << "Issuer:         " << (t.issuer.empty() ? "(unknown)" : t.issuer) << "\n";
  o << "Subject:        " << (subject.empty() ? "(unknown)" : subject) << "\n";
  if (profile.contains("name") || profile.contains("email")) {
    o << "User:           " << profile.value("name", "");
    if (profile.contains("email") && profile["email"].is_string())
      o << " <" << profile["email"].get<std::string>() << ">";
    o << "\n";
  }
  o << "Audience:       " << (audience.is_string() ? audience.get<std::string>() : audience.dump()) << "\n";
  o << "Scopes:         " << scope << "\n";
  if (!permissions.empty()) {
    o << "Permissions:    ";
    for (std::size_t i = 0; i < permissions.size(); ++i)
      o << (i ? " " : "") << (permissions[i].is_string() ? permissions[i].get<std::string>() : permissions[i].dump());
    o << "\n";
  }
  o << "Access token:   " << (oauth::looks_like_jwt(t.access_token) ? "JWT" : "opaque") << ", expires "
    << describe_expiry(t.expires_at, now) << "\n";
  o << "Refresh token:  " << (t.refresh_token.empty() ? "absent" : "present") << "\n";
  o << "Stored in:      "
    << (current->source == TokenSource::Environment ? "OAUTHDEMO_ACCESS_TOKEN (environment)" : ctx.store->location())
    << "\n";
  if (options.include_refresh && !t.refresh_token.empty()) o << "Refresh value:  " << t.refresh_token << "\n";
  return kExitOk;
}

Result<int> run_token_refresh(Context& ctx) {
  if (std::getenv("OAUTHDEMO_ACCESS_TOKEN") != nullptr && *std::getenv("OAUTHDEMO_ACCESS_TOKEN") != '\0')
    return fail(Errc::InvalidArgument, "OAUTHDEMO_ACCESS_TOKEN is set; there is nothing stored to refresh");
  auto stored = ctx.store->load();
  if (!stored) {
    if (stored.error().code == Errc::StoreNotFound)
      return fail(Errc::LoginRequired, "not logged in (profile " + ctx.settings->profile() + "); run: oauthdemo login");
    return tl::unexpected(stored.error());
  }
  auto refreshed = refresh_tokens(ctx, RefreshMode::Force, stored->access_token);
  if (!refreshed) return tl::unexpected(refreshed.error());
  ctx.e() << "Refreshed: the access token expires " << describe_expiry(refreshed->expires_at, ctx.clock->now())
          << ".\n";
  return kExitOk;
}

}  // namespace oauthdemo::cli
