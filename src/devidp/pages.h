#pragma once
// HTML pages of the dev authorization server. Every interpolated value goes through
// http::html_escape. Form field names are a contract (contracts.md, scripts/devidp-browser.sh).
#include <string>

namespace oauthdemo::devidp::pages {

struct LoginPage {
  std::string txn;
  std::string csrf;
  std::string client_name;
  std::string username;   // refilled after a failed attempt
  std::string error;      // shown above the form when not empty
  std::string heading = "Log in";
  std::string device_user_code;  // set for the device flow ("Confirm code BCDF-GHJK")
};

// <form method="post" action="/u/login"> with username, password, hidden txn + csrf, and the
// buttons action=login / action=deny.
std::string login(const LoginPage& page);

struct ActivatePage {
  std::string csrf;
  std::string user_code;  // prefilled from ?user_code=
  std::string error;
};

// <form method="post" action="/activate"> with user_code and hidden csrf.
std::string activate(const ActivatePage& page);

// "Device approved" / "Device denied" end pages.
std::string device_result(bool approved);

// An error page (bad client or redirect URI, expired login, CSRF failure, ...).
std::string error(const std::string& title, const std::string& message);

// A plain information page (logout without returnTo).
std::string info(const std::string& title, const std::string& message);

}  // namespace oauthdemo::devidp::pages
