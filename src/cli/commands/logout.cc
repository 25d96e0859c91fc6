#include "cli/commands/logout.h"

#include <ostream>

#include "cli/session.h"
#include "common/http/url.h"

namespace oauthdemo::cli {

CLI::App* setup_logout(CLI::App& parent, LogoutOptions& options) {
  auto* cmd = parent.add_subcommand("logout", "Revoke the refresh token and delete the stored tokens");
  cmd->add_flag("--no-revoke", options.no_revoke, "Only delete the local tokens");
  cmd->add_flag("--print-logout-url", options.print_logout_url,
                "Print the provider's browser logout URL (end_session_endpoint or Auth0 /v2/logout)");
  cmd->add_option("--return-to", options.return_to,
                  "returnTo / post_logout_redirect_uri for --print-logout-url (OAUTHDEMO_LOGOUT_RETURN_TO)");
  cmd->footer("Examples:\n  oauthdemo logout\n  oauthdemo logout --print-logout-url --return-to http://127.0.0.1:8400/");
  return cmd;
}

Result<int> run_logout(Context& ctx, const LogoutOptions& options) {
  auto stored = ctx.store->load();
  if (!stored && stored.error().code != Errc::StoreNotFound) return tl::unexpected(stored.error());
  if (!stored) {
    ctx.e() << "Not logged in (profile " << ctx.settings->profile() << "); nothing to delete.\n";
    if (!options.print_logout_url) return kExitOk;
  }
  std::optional<oauth::ProviderMetadata> metadata;
  auto need_metadata = [&]() -> Result<void> {
    if (metadata) return {};
    std::string issuer;
    if (stored && !stored->issuer.empty()) {
      issuer = stored->issuer;
    } else {
      auto configured = ctx.settings->issuer();
      if (!configured) return tl::unexpected(configured.error());
      issuer = *configured;
    }
    auto m = discover(ctx, issuer, ctx.settings->is_auth0());
    if (!m) return tl::unexpected(m.error());
    metadata = std::move(*m);
    return {};
  };

  if (stored && !stored->refresh_token.empty() && !options.no_revoke) {
    auto ok = need_metadata();
    if (!ok) {
      ctx.e() << "warning: could not reach the provider to revoke the refresh token (" << ok.error().detail
              << "); deleting it locally only.\n";
    } else if (metadata->revocation_endpoint.empty()) {
      ctx.e() << "The provider has no revocation endpoint; the refresh token is only deleted locally.\n";
    } else {
      auto response = ctx.http->send(oauth::revocation_request(metadata->revocation_endpoint,
                                                               {stored->client_id, ""}, stored->refresh_token,
                                                               "refresh_token"));
      if (!response) {
        ctx.e() << "warning: revocation failed (" << response.error().detail << "); deleting the tokens locally only.\n";
      } else if (response->status != 200) {
        ctx.e() << "warning: the provider refused the revocation (" << oauth::parse_oauth_error(*response).detail
                << "); deleting the tokens locally only.\n";
      } else {
        ctx.e() << "Revoked the refresh token at " << metadata->revocation_endpoint << ".\n";
      }
    }
  }
  if (stored) {
    auto lock = ctx.store->lock();
    if (!lock) return tl::unexpected(lock.error());
    auto removed = ctx.store->remove(*lock);
    if (!removed) return tl::unexpected(removed.error());
    ctx.e() << "Logged out (profile " << ctx.settings->profile() << "): deleted " << ctx.store->location() << ".\n";
    if (stored->expires_at != 0 && stored->expires_at > to_unix(ctx.clock->now()))
      ctx.e() << "Access tokens cannot be revoked: the last one stays valid until "
              << describe_expiry(stored->expires_at, ctx.clock->now()) << ".\n";
  }
  if (options.print_logout_url) {
    auto ok = need_metadata();
    if (!ok) return tl::unexpected(ok.error());
    std::string return_to = options.return_to;
    if (return_to.empty()) {
      if (auto s = ctx.settings->get("OAUTHDEMO_LOGOUT_RETURN_TO")) return_to = s->value;
    }
    std::string client_id = stored ? stored->client_id : ctx.settings->client_id().value_or("");
    http::Params params;
    std::string url;
    if (!metadata->end_session_endpoint.empty()) {
      params.emplace_back("client_id", client_id);
      if (!return_to.empty()) params.emplace_back("post_logout_redirect_uri", return_to);
      url = metadata->end_session_endpoint;
    } else if (ctx.settings->is_auth0()) {
      params.emplace_back("client_id", client_id);
      if (!return_to.empty()) params.emplace_back("returnTo", return_to);
      url = metadata->issuer + "v2/logout";
    } else {
      return fail(Errc::OAuthDiscoveryFailed, "the provider advertises no end_session_endpoint");
    }
    ctx.o() << url << (url.find('?') == std::string::npos ? "?" : "&") << http::form_encode(params) << "\n";
  }
  return kExitOk;
}

}  // namespace oauthdemo::cli
