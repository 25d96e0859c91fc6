#include "devidp/pages.h"

#include "common/http/url.h"

namespace oauthdemo::devidp::pages {
namespace {

using http::html_escape;

std::string layout(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>" + html_escape(title) + " - oauthdemo dev IdP</title>\n"
         "<style>body{font-family:sans-serif;max-width:28em;margin:3em auto;padding:0 1em}"
         "label{display:block;margin-top:1em}input{width:100%;padding:.4em;box-sizing:border-box}"
         "button{margin-top:1.2em;margin-right:.5em;padding:.5em 1.2em}.error{color:#a00;font-weight:bold}"
         ".note{color:#666;font-size:.85em;margin-top:2em}</style>\n"
         "</head>\n<body>\n" + body +
         "<p class=\"note\">oauthdemo-devidp: a development server, not for production.</p>\n</body>\n</html>\n";
}

std::string error_block(const std::string& error) {
  if (error.empty()) return {};
  return "<p class=\"error\" role=\"alert\">" + html_escape(error) + "</p>\n";
}

}  // namespace

std::string login(const LoginPage& page) {
  std::string body = "<h1>" + html_escape(page.heading) + "</h1>\n";
  if (!page.device_user_code.empty())
    body += "<p>Confirm that this code matches the one on your device: <strong>" +
            html_escape(page.device_user_code) + "</strong></p>\n";
  body += "<p>to continue to <strong>" + html_escape(page.client_name) + "</strong></p>\n";
  body += error_block(page.error);
  body += "<form method=\"post\" action=\"/u/login\">\n"
          "<input type=\"hidden\" name=\"txn\" value=\"" + html_escape(page.txn) + "\">\n"
          "<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(page.csrf) + "\">\n"
          "<label for=\"username\">Username</label>\n"
          "<input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"" + html_escape(page.username) +
          "\">\n"
          "<label for=\"password\">Password</label>\n"
          "<input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\">\n"
          "<button type=\"submit\" name=\"action\" value=\"login\">Log in</button>\n"
          "<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\n"
          "</form>\n";
  return layout(page.heading, body);
}

std::string activate(const ActivatePage& page) {
  std::string body = "<h1>Device activation</h1>\n<p>Enter the code shown on your device.</p>\n";
  body += error_block(page.error);
  body += "<form method=\"post\" action=\"/activate\">\n"
          "<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(page.csrf) + "\">\n"
          "<label for=\"user_code\">Code</label>\n"
          "<input id=\"user_code\" name=\"user_code\" autocomplete=\"off\" value=\"" + html_escape(page.user_code) +
          "\">\n"
          "<button type=\"submit\">Continue</button>\n"
          "</form>\n";
  return layout("Device activation", body);
}

std::string device_result(bool approved) {
  if (approved)
    return layout("Device approved",
                  "<h1>Device approved</h1>\n<p>You can return to your device; it is now logged in.</p>\n");
  return layout("Device denied", "<h1>Device denied</h1>\n<p>The device was not given access.</p>\n");
}

std::string error(const std::string& title, const std::string& message) {
  return layout(title, "<h1>" + html_escape(title) + "</h1>\n" + error_block(message));
}

std::string info(const std::string& title, const std::string& message) {
  return layout(title, "<h1>" + html_escape(title) + "</h1>\n<p>" + html_escape(message) + "</p>\n");
}

}  // namespace oauthdemo::devidp::pages
