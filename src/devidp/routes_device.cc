// Device authorization grant (RFC 8628 §3.1-3.3): /oauth/device/code and the /activate pages.
#include "devidp/pages.h"
#include "devidp/server.h"

namespace oauthdemo::devidp {

void Server::device_code(const httplib::Request& req, httplib::Response& res) {
  auto form = parse_body(req);
  if (!form) return send_oauth_error(res, to_failure(form.error()));
  auto client = authenticate_client(req, *form, registry_);
  if (!client) return send_oauth_error(res, client.error());
  if (!client->client->grant_types.count(std::string(kGrantDeviceCode)))
    return send_oauth_error(res, failure("unauthorized_client", "client " + client->client->client_id +
                                                                    " may not use the device authorization grant"));
  const std::string audience = http::param(*form, "audience").value_or("");
  auto scope = validate_scope(http::param(*form, "scope").value_or(""), audience);
  if (!scope) return send_oauth_error(res, scope.error());
  auto started = sessions_.start_device(DevicePending{client->client->client_id, *scope, audience});
  if (!started) return send_oauth_error(res, to_failure(started.error()));
  const std::string verification_uri = issuer_ + "activate";
  send_json(res, 200,
            {{"device_code", started->device_code},
             {"user_code", started->user_code},
             {"verification_uri", verification_uri},
             {"verification_uri_complete", verification_uri + "?" + http::form_encode({{"user_code", started->user_code}})},
             {"expires_in", started->expires_in.count()},
             {"interval", started->interval.count()}});
}

void Server::activate_get(const httplib::Request& req, httplib::Response& res) {
  auto params = parse_query(req);
  pages::ActivatePage page;
  page.csrf = csrf_for_form(req, res, random_);
  if (params) page.user_code = http::param(*params, "user_code").value_or("").substr(0, 32);
  send_page(res, 200, pages::activate(page));
}

void Server::activate_post(const httplib::Request& req, httplib::Response& res) {
  auto form = read_protected_form(req, res, "page");
  if (!form) return;
  const std::string entered = http::param(*form, "user_code").value_or("");
  const auto canonical = normalize_user_code(entered);
  const auto pending = canonical ? sessions_.find_device(*canonical) : std::nullopt;
  if (!pending) {
    request_note().error = "invalid_user_code";
    pages::ActivatePage page;
    page.csrf = csrf_for_form(req, res, random_);
    page.user_code = entered.substr(0, 32);
    page.error = "That code is not valid or has expired. Check the code on your device.";
    send_page(res, 200, pages::activate(page));
    return;
  }
  request_note().client_id = pending->client_id;
  LoginTxn txn;
  txn.kind = TxnKind::Device;
  txn.user_code = *canonical;
  auto id = sessions_.create_txn(std::move(txn));
  if (!id) {
    send_page(res, 500, pages::error("Server error", "Could not start the login."));
    return;
  }
  send_redirect(res, "/u/login?" + http::form_encode({{"txn", *id}}));
}

}  // namespace oauthdemo::devidp
