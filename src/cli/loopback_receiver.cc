#include "cli/loopback_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/base/digest.h"
#include "common/http/listen_port.h"
#include "common/http/url.h"
#include "common/oauth/token_client.h"

namespace oauthdemo::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxRequestBytes = 8 * 1024;
constexpr std::size_t kMaxClients = 16;
constexpr auto kClientTimeout = std::chrono::seconds(10);

struct Client {
  int fd = -1;
  std::string buffer;
  Clock::time_point deadline;
};

struct Outcome {
  enum class Kind { Continue, Success, Fail } kind = Kind::Continue;
  CallbackResult result;
  Error error{Errc::IoError, ""};
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

// Binds one listening socket; returns the fd or -errno.
int bind_one(const std::string& ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  // Lets a rerun bind while old connections sit in TIME_WAIT; Linux still refuses a second listener.
  http::set_listener_options(fd);
  int rc;
  if (v6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    ::inet_pton(AF_INET6, ip.c_str(), &addr.sin6_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0 || ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  set_nonblocking(fd);
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (sent < data.size() && Clock::now() < deadline) {
    const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    return;
  }
}

std::string response(int status, std::string_view reason, std::string_view body, std::string_view extra = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: text/html; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nPragma: no-cache\r\nReferrer-Policy: no-referrer\r\n";
  out += "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n";
  out += "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n";
  out += extra;
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

// Evaluates callback parameters (from the browser or a paste) against the expected state.
Outcome evaluate(const http::Params& params, const WaitOptions& options, int& bad, std::string& page_title,
                 std::string& page_message, int& status) {
  Outcome out;
  const auto state = http::param(params, "state");
  const bool state_ok = state && !options.expected_state.empty() &&
                        base::constant_time_equal(*state, options.expected_state);
  if (!state_ok) {
    ++bad;
    status = 400;
    page_title = "Login not recognised";
    // The login goes on (up to max_bad_requests): point at the link that belongs to it.
    page_message = state ? "This response does not belong to the login in progress (state mismatch). Use the link "
                           "the terminal printed for this login; the terminal is still waiting."
                         : "This request has no state parameter. Use the link the terminal printed for this login; "
                           "the terminal is still waiting.";
    if (bad >= options.max_bad_requests) {
      out.kind = Outcome::Kind::Fail;
      out.error = Error{Errc::OAuthStateMismatch,
                        std::to_string(bad) + " callbacks arrived with a wrong or missing state; giving up"};
    }
    return out;
  }
  if (auto error = http::param(params, "error")) {
    const auto description = http::param(params, "error_description").value_or("");
    std::string detail = error->substr(0, 100);
    if (!description.empty()) detail += ": " + description.substr(0, 300);
    detail.erase(std::remove_if(detail.begin(), detail.end(),
                                [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }),
                 detail.end());
    status = 200;
    page_title = "Login failed";
    page_message = "The authorization server answered: " + detail + ". You can close this window.";
    out.kind = Outcome::Kind::Fail;
    const Errc code = oauth::errc_from_oauth_error(*error);
    out.error = Error{code == Errc::OAuthBadResponse ? Errc::OAuthInvalidRequest : code,
                      "the authorization server answered " + detail};
    return out;
  }
  auto code = http::param(params, "code");
  if (!code || code->empty() || code->size() > 4096) {
    ++bad;
    status = 400;
    page_title = "Login not recognised";
    page_message = "The response has no authorization code. Start the login again from the terminal.";
    if (bad >= options.max_bad_requests) {
      out.kind = Outcome::Kind::Fail;
      out.error = Error{Errc::OAuthBadResponse, "callbacks arrived without an authorization code; giving up"};
    }
    return out;
  }
  status = 200;
  page_title = "Login complete";
  page_message = "You are logged in to oauthdemo. You can close this window and return to the terminal.";
  out.kind = Outcome::Kind::Success;
  out.result.code = *code;
  out.result.iss = http::param(params, "iss").value_or("");
  return out;
}


struct RequestHead {
  std::string method;
  std::string path;
  std::string query;
  std::string host;  // lower-cased; empty when absent
  int host_count = 0;
  bool valid = false;
};

// Parses "METHOD TARGET HTTP/x\r\nName: value\r\n..." (everything before the blank line).
RequestHead parse_head(const std::string& head) {
  RequestHead out;
  const auto line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1 || request_line.compare(sp2 + 1, 5, "HTTP/") != 0) return out;
  out.method = request_line.substr(0, sp1);
  const std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto q = target.find('?');
  out.path = target.substr(0, q);
  out.query = q == std::string::npos ? "" : target.substr(q + 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    const std::string header = head.substr(pos, eol - pos);
    const auto colon = header.find(':');
    if (colon != std::string::npos && lower(header.substr(0, colon)) == "host") {
      std::string value = header.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      out.host = lower(value);
      ++out.host_count;
    }
    pos = eol + 2;
  }
  out.valid = true;
  return out;
}

// The mutable state of one wait().
struct Waiter {
  const WaitOptions& options;
  std::string callback_path;
  std::vector<std::string> allowed_hosts;
  int bad = 0;

  void notice(const std::string& text) const {
    if (options.notice) options.notice(text);
  }

  // Answers one complete request on `fd` and says whether the wait is over.
  Outcome serve(int fd, const std::string& head_text) {
    const auto head = parse_head(head_text);
    if (!head.valid) {
      send_all(fd, response(400, "Bad Request", render_page("Bad request", "Malformed request.")));
      return {};
    }
    // DNS-rebinding defence: only our own loopback names.
    if (head.host_count != 1 ||
        std::find(allowed_hosts.begin(), allowed_hosts.end(), head.host) == allowed_hosts.end()) {
      send_all(fd, response(400, "Bad Request", render_page("Bad request", "Unexpected Host header.")));
      notice("Ignored a request with an unexpected Host header.");
      return {};
    }
    if (head.path != callback_path) {
      send_all(fd, response(404, "Not Found", render_page("Not found", "Nothing here.")));
      return {};
    }
    if (head.method != "GET") {
      send_all(fd, response(405, "Method Not Allowed", render_page("Method not allowed", "Use GET."), "Allow: GET\r\n"));
      return {};
    }
    auto params = http::parse_form(head.query);
    if (!params) {
      ++bad;
      send_all(fd, response(400, "Bad Request", render_page("Bad request", "Malformed query string.")));
      Outcome out;
      if (bad >= options.max_bad_requests) {
        out.kind = Outcome::Kind::Fail;
        out.error = Error{Errc::OAuthBadResponse, "malformed callbacks arrived; giving up"};
      }
      return out;
    }
    std::string title, message;
    int status = 0;
    auto outcome = evaluate(*params, options, bad, title, message, status);
    send_all(fd, response(status, status == 200 ? "OK" : "Bad Request", render_page(title, message)));
    if (outcome.kind == Outcome::Kind::Continue)
      notice("Ignored a callback that does not belong to this login (" + std::to_string(bad) + " of at most " +
             std::to_string(options.max_bad_requests) + ").");
    return outcome;
  }

  // One pasted line: a redirected URL, or just its query string.
  Outcome paste(std::string line) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(0, 1);
    if (line.empty()) return {};
    std::string query = line;
    if (auto q = line.find('?'); q != std::string::npos) query = line.substr(q + 1);
    if (auto hash = query.find('#'); hash != std::string::npos) query.resize(hash);
    auto params = http::parse_form(query);
    if (!params) {
      notice("That does not look like the redirected URL; paste the whole address from the browser bar.");
      return {};
    }
    std::string title, message;
    int status = 0;
    auto outcome = evaluate(*params, options, bad, title, message, status);
    if (outcome.kind == Outcome::Kind::Success) outcome.result.source = CallbackResult::Source::Paste;
    if (outcome.kind == Outcome::Kind::Continue) notice(message);
    return outcome;
  }
};

}  // namespace

std::string render_page(std::string_view title, std::string_view message) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + http::html_escape(title) +
         "</title><style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}"
         "</style></head><body><h1>" +
         http::html_escape(title) + "</h1><p>" + http::html_escape(message) + "</p></body></html>\n";
}

Result<std::unique_ptr<LoopbackReceiver>> LoopbackReceiver::bind(const ReceiverConfig& config) {
  std::vector<std::string> ips;
  if (config.host == "127.0.0.1" || config.host == "::1") {
    ips = {config.host};
  } else if (lower(config.host) == "localhost") {
    ips = {"127.0.0.1", "::1"};
  } else {
    return fail(Errc::InvalidArgument, "the redirect host must be 127.0.0.1, [::1] or localhost, not " + config.host +
                                           " (RFC 8252 §7.3: loopback only)");
  }
  if (config.ports.empty()) return fail(Errc::InvalidArgument, "no callback ports to try");
  std::string tried;
  for (uint16_t wanted : config.ports) {
    std::unique_ptr<LoopbackReceiver> receiver(new LoopbackReceiver());
    receiver->host_ = config.host;
    receiver->path_ = config.path;
    bool ok = true;
    int last_error = 0;
    uint16_t port = wanted;
    for (const auto& ip : ips) {
      const int fd = bind_one(ip, port);
      if (fd < 0) {
        // ::1 missing entirely (IPv6 disabled) is fine for "localhost": 127.0.0.1 still serves.
        if (ip == "::1" && ips.size() > 1 && (-fd == EADDRNOTAVAIL || -fd == EAFNOSUPPORT)) continue;
        ok = false;
        last_error = -fd;
        break;
      }
      receiver->listen_fds_.push_back(fd);
      if (port == 0) port = bound_port(fd);
    }
    if (ok) {
      receiver->port_ = port;
      return receiver;
    }
    if (last_error != EADDRINUSE && last_error != EACCES)
      return fail(Errc::IoError, "cannot listen on " + config.host + " port " + std::to_string(wanted) + ": " +
                                     std::strerror(last_error));
    tried += (tried.empty() ? "" : ", ") + std::to_string(wanted);
  }
  std::string holder;
  if (config.ports.size() == 1) holder = http::describe_port_holder(config.ports.front());
  return fail(Errc::HttpPortInUse,
              "callback port " + tried + " on " + config.host +
                  (config.ports.size() > 1 ? " are all in use" : " is in use") + (holder.empty() ? "" : " by " + holder) +
                  "; stop the program using it, or pass --port-list with other ports that are registered as "
                  "http://127.0.0.1:PORT/callback at your provider (0 = any port, if the provider allows it)");
}

LoopbackReceiver::~LoopbackReceiver() { close(); }

void LoopbackReceiver::close() {
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
}

std::string LoopbackReceiver::redirect_uri() const {
  const std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return "http://" + host + ":" + std::to_string(port_) + path_;
}

Result<CallbackResult> LoopbackReceiver::wait(const WaitOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  const std::string port_text = std::to_string(port_);
  Waiter waiter{options, path_, {"127.0.0.1:" + port_text, "localhost:" + port_text, "[::1]:" + port_text}};
  std::vector<Client> clients;
  std::string paste_buffer;
  bool paste_open = options.paste_fd >= 0;
  auto finish = [&](Result<CallbackResult> r) {
    for (auto& c : clients) ::close(c.fd);
    clients.clear();
    close();
    return r;
  };
  auto conclude = [&](const Outcome& outcome) -> Result<CallbackResult> {
    if (outcome.kind == Outcome::Kind::Success) return finish(outcome.result);
    return finish(tl::unexpected(outcome.error));
  };
  auto next_tick = Clock::now();

  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count();
      return finish(fail(Errc::OAuthTimeout, "no answer from the browser within " + std::to_string(seconds) +
                                                 " s; run the login again (or raise --timeout)"));
    }
    if (options.tick && now >= next_tick) {
      if (auto stop = options.tick(std::chrono::duration_cast<std::chrono::seconds>(deadline - now)))
        return finish(tl::unexpected(*stop));
      next_tick = now + std::chrono::milliseconds(250);
    }
    // Connections that sent nothing useful in time (browser preconnects) are dropped.
    std::erase_if(clients, [&](const Client& c) {
      if (now < c.deadline) return false;
      ::close(c.fd);
      return true;
    });

    std::vector<pollfd> fds;
    for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
    for (const auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    const std::size_t cancel_index = fds.size();
    if (options.cancel_fd >= 0) fds.push_back({options.cancel_fd, POLLIN, 0});
    const std::size_t paste_index = fds.size();
    if (paste_open) fds.push_back({options.paste_fd, POLLIN, 0});
    const auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(left_ms, 1, 250)));
    if (ready < 0 && errno != EINTR) return finish(fail(Errc::IoError, std::string("poll failed: ") + std::strerror(errno)));
    if (ready <= 0) continue;

    if (options.cancel_fd >= 0 && (fds[cancel_index].revents & (POLLIN | POLLHUP)) != 0)
      return finish(fail(Errc::OAuthInterrupted, "login interrupted"));

    if (paste_open && (fds[paste_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[1024];
      const auto n = ::read(options.paste_fd, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) paste_open = false;
      if (n > 0) {
        paste_buffer.append(buf, static_cast<std::size_t>(n));
        if (paste_buffer.size() > 16 * 1024) paste_buffer.clear();
        for (auto nl = paste_buffer.find('\n'); nl != std::string::npos; nl = paste_buffer.find('\n')) {
          const std::string line = paste_buffer.substr(0, nl);
          paste_buffer.erase(0, nl + 1);
          auto outcome = waiter.paste(line);
          if (outcome.kind != Outcome::Kind::Continue) return conclude(outcome);
        }
      }
    }

    // Client data first (fds holds listeners, then clients in order), then new connections.
    std::vector<int> done;
    for (std::size_t k = 0; k < clients.size(); ++k) {
      const auto& pfd = fds[listen_fds_.size() + k];
      if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      auto& client = clients[k];
      char buf[2048];
      const auto n = ::recv(client.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) done.push_back(client.fd);
        continue;
      }
      client.buffer.append(buf, static_cast<std::size_t>(n));
      const auto end = client.buffer.find("\r\n\r\n");
      if (end == std::string::npos || end > kMaxRequestBytes) {
        if (client.buffer.size() > kMaxRequestBytes) {
          send_all(client.fd, response(431, "Request Header Fields Too Large", render_page("Bad request", "Too large.")));
          done.push_back(client.fd);
        }
        continue;
      }
      done.push_back(client.fd);
      auto outcome = waiter.serve(client.fd, client.buffer.substr(0, end));
      if (outcome.kind != Outcome::Kind::Continue) return conclude(outcome);
    }
    for (int fd : done) {
      ::close(fd);
      std::erase_if(clients, [fd](const Client& c) { return c.fd == fd; });
    }
    for (std::size_t i = 0; i < listen_fds_.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      for (int cfd; (cfd = ::accept4(listen_fds_[i], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
        if (clients.size() >= kMaxClients) {
          ::close(cfd);
          continue;
        }
        clients.push_back(Client{cfd, {}, Clock::now() + kClientTimeout});
      }
    }
  }
}

}  // namespace oauthdemo::cli
