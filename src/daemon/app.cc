#include "daemon/app.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/base/random.h"
#include "common/config/usage.h"
#include "common/http/http_client.h"
#include "daemon/authenticator.h"
#include "daemon/cpu_budget.h"
#include "daemon/jwks_cache.h"
#include "daemon/logging.h"
#include "daemon/metrics.h"
#include "daemon/server.h"
#include "daemon/settings.h"
#include "daemon/systemd_notify.h"

namespace oauthdemo::daemon {
namespace {

using Steady = std::chrono::steady_clock;

// Every connection is a descriptor: raise the soft RLIMIT_NOFILE to the hard one and keep
// MAX_CONNECTIONS within it (with room for the key fetches, logs and the listener).
std::size_t connection_budget(std::size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  constexpr rlim_t kReserved = 64;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur <= kReserved) return wanted;
  const auto available = static_cast<std::size_t>(limit.rlim_cur - kReserved);
  if (wanted > available) {
    log_warn("MAX_CONNECTIONS " + std::to_string(wanted) + " is above the open-file limit; using " +
             std::to_string(available) + " (raise LimitNOFILE= to allow more)");
    return available;
  }
  return wanted;
}

// One line at start-up, so a container's operator sees why there are fewer loops than host CPUs.
std::string describe(const CpuBudget& b) {
  std::string limit = "none";
  if (b.limit) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", *b.limit);
    limit = buf;
  }
  return std::to_string(b.cpus) + (b.cpus == 1 ? " event loop" : " event loops") + " (CPUs usable: affinity " +
         (b.affinity ? std::to_string(*b.affinity) : std::string("unknown")) + ", cgroup limit " + limit + ")";
}

JwksCacheOptions cache_options(const Settings& s) {
  JwksCacheOptions o;
  o.jwks_uri = s.jwks_uri;
  o.issuer = s.issuer;
  o.default_max_age = s.jwks_default_max_age;
  o.min_max_age = s.jwks_min_max_age;
  o.max_max_age = s.jwks_max_max_age;
  o.max_stale_age = s.jwks_max_stale_age;
  o.kid_refetch_cooldown = s.jwks_refetch_cooldown;
  o.fetch_timeout = s.provider_timeout;
  o.snapshot_file = s.jwks_cache_file;
  return o;
}

AuthPolicy auth_policy(const Settings& s) {
  AuthPolicy p;
  p.verify.issuer = s.issuer;
  p.verify.audiences = {s.audience};
  p.verify.allowed_algs = s.allowed_algs;
  p.verify.leeway = s.leeway;
  p.verify.required_typ = s.required_typ;
  p.verify.max_token_bytes = p.max_token_bytes;
  p.token_cache = s.token_cache ? TokenCacheMode::On : TokenCacheMode::Off;
  return p;
}

RouteConfig route_config(const Settings& s) {
  RouteConfig c;
  c.cors_origins = s.cors_origins;
  c.admin_permission = s.admin_permission;
  c.audience = s.audience;
  c.issuer = s.issuer;
  c.public_url = s.public_url;
  c.log_format = s.log_format;
  c.access_log = s.access_log;
  return c;
}

// {"url":"http://127.0.0.1:PORT/","port":PORT,"pid":PID}, written atomically (temp + rename).
bool write_ready_file(const std::string& path, const std::string& base_url, int port) {
  const std::string text =
      nlohmann::json{{"url", base_url + "/"}, {"port", port}, {"pid", static_cast<int>(::getpid())}}.dump() + "\n";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string status_line(const JwksCache& keys, const std::string& url) {
  const auto s = keys.status();
  std::string line = "listening on " + url + "; ";
  if (s.has_keys) {
    line += "jwks: " + std::to_string(s.keys) + " keys, age " + std::to_string(static_cast<long long>(s.age_seconds)) + "s";
    if (!s.usable) line += " (too old to use)";
  } else {
    line += "jwks: not loaded yet";
  }
  if (!s.last_error.empty()) line += "; last fetch failed: " + s.last_error;
  return line;
}

// Refreshes keys on schedule on its own thread. Its heartbeat feeds the watchdog check.
class Refresher {
 public:
  explicit Refresher(JwksCache& keys) : keys_(keys), thread_([this] { run(); }) {}
  ~Refresher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void poke() { cv_.notify_all(); }
  Steady::time_point heartbeat() const { return Steady::time_point(Steady::duration(heartbeat_.load())); }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      const auto next = keys_.run_due_work();
      heartbeat_.store(Steady::now().time_since_epoch().count());
      lock.lock();
      auto wait = next - Steady::now();
      if (wait > std::chrono::seconds(1)) wait = std::chrono::seconds(1);
      if (wait > Steady::duration::zero()) cv_.wait_for(lock, wait, [this] { return stop_; });
    }
  }
  JwksCache& keys_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<Steady::rep> heartbeat_{Steady::now().time_since_epoch().count()};
  std::thread thread_;
};

class Daemon {
 public:
  Daemon(CommandLine command_line, Settings settings)
      : command_line_(std::move(command_line)),
        settings_(std::move(settings)),
        http_(http::HttpClientOptions{settings_.ca_file, http::HttpClientOptions::PlainHttp::LoopbackOnly,
                                      http::HttpClientOptions::Proxy::None, "oauthdemo-apid/0.1",
                                      settings_.provider_timeout}),
        keys_(cache_options(settings_), http_, clock_, make_seeded_jitter(seed()), &metrics_),
        auth_(keys_, clock_, &metrics_),
        server_(auth_, keys_, metrics_) {}

  int run(const sigset_t& signals);

 private:
  static std::uint64_t seed() {
    OpenSslRandom random;
    auto bytes = random.bytes(8);
    std::uint64_t value = static_cast<std::uint64_t>(::getpid());
    if (bytes)
      for (char c : *bytes) value = (value << 8) | static_cast<unsigned char>(c);
    return value;
  }
  // Waits up to `timeout` for a signal; returns it or 0.
  static int wait_signal(const sigset_t& signals, std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>((timeout.count() % 1000) * 1000000)};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    return sig > 0 ? sig : 0;
  }
  Result<void> resolve_with_retry(const sigset_t& signals, bool& terminate);
  void reload();
  void announce_ready();

  CommandLine command_line_;
  Settings settings_;
  SystemClock clock_;
  Metrics metrics_;
  http::HttplibClient http_;
  JwksCache keys_;
  Authenticator auth_;
  ApiServer server_;
  SystemdNotifier notifier_;
  std::string url_;
  int port_ = 0;
};

Result<void> Daemon::resolve_with_retry(const sigset_t& signals, bool& terminate) {
  std::chrono::milliseconds backoff{500};
  for (;;) {
    auto resolved = resolve_provider(settings_, http_);
    if (resolved) return {};
    if (resolved.error().code != Errc::OAuthDiscoveryFailed && resolved.error().code != Errc::HttpDeadlineExceeded)
      return resolved;
    if (!settings_.jwks_cache_file.empty()) {
      // Provider down at start: the snapshot written for this issuer knows its JWKS URI.
      if (auto uri = snapshot_jwks_uri(settings_.jwks_cache_file, settings_.issuer)) {
        log_warn("discovery failed (" + resolved.error().detail + "); using the JWKS URI from " +
                 settings_.jwks_cache_file);
        settings_.jwks_uri = *uri;
        return {};
      }
    }
    log_warn("discovery failed, retrying: " + resolved.error().detail);
    notifier_.status("discovery failed, retrying: " + resolved.error().detail);
    const int sig = wait_signal(signals, backoff);
    if (sig == SIGTERM || sig == SIGINT) {
      terminate = true;
      return {};
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
}

void Daemon::announce_ready() {
  if (!settings_.ready_file.empty() && settings_.ready_when == ReadyWhen::Keys &&
      !write_ready_file(settings_.ready_file, url_, port_))
    log_error("cannot write the ready file " + settings_.ready_file);
  notifier_.ready(status_line(keys_, url_));
  log_info("ready: " + status_line(keys_, url_));
}

void Daemon::reload() {
  notifier_.reloading();
  log_info("SIGHUP: reloading settings");
  auto next = load_settings(command_line_);
  if (next) {
    auto resolved = resolve_provider(*next, http_);
    if (!resolved) next = tl::unexpected(resolved.error());
  }
  if (!next) {
    log_error("reload failed, keeping the previous settings: " + next.error().message());
    notifier_.ready("reload failed, kept previous settings: " + next.error().detail);
    return;
  }
  if (next->host != settings_.host || next->port != settings_.port || next->tls_cert_file != settings_.tls_cert_file ||
      next->tls_key_file != settings_.tls_key_file || next->workers != settings_.workers ||
      next->max_connections != settings_.max_connections || next->header_timeout != settings_.header_timeout)
    log_warn("host, port, TLS files, WORKERS, MAX_CONNECTIONS and HEADER_TIMEOUT changes need a restart; they were "
             "not applied");
  next->host = settings_.host;
  next->port = settings_.port;
  next->tls_cert_file = settings_.tls_cert_file;
  next->tls_key_file = settings_.tls_key_file;
  next->workers = settings_.workers;
  next->max_connections = settings_.max_connections;
  next->header_timeout = settings_.header_timeout;
  next->ready_file = settings_.ready_file;
  settings_ = std::move(*next);
  configure_logging(settings_.log_format, settings_.log_level);
  keys_.reconfigure(cache_options(settings_));
  auth_.set_policy(auth_policy(settings_));
  server_.set_config(route_config(settings_));
  auto refreshed = keys_.refresh();
  if (!refreshed) log_warn("key refresh after reload failed: " + refreshed.error().message());
  notifier_.ready(status_line(keys_, url_));
  log_info("reloaded: " + status_line(keys_, url_));
}

int Daemon::run(const sigset_t& signals) {
  auth_.set_policy(auth_policy(settings_));
  server_.set_config(route_config(settings_));
  ServerLimits limits;
  if (settings_.workers > 0) {
    limits.events.loops = static_cast<std::size_t>(settings_.workers);
  } else {
    const auto cpus = usable_cpu_budget();
    limits.events.loops = cpus.cpus;
    if (settings_.tls_cert_file.empty()) log_info(describe(cpus));
  }
  limits.tls_workers = settings_.workers > 0 ? settings_.workers : 256;
  limits.events.max_connections = connection_budget(static_cast<std::size_t>(settings_.max_connections));
  limits.events.header_timeout = settings_.header_timeout;
  auto port = server_.bind(settings_.host, settings_.port, limits, {settings_.tls_cert_file, settings_.tls_key_file});
  if (!port) {
    std::cerr << "oauthdemo-apid: " << port.error().detail << "\n";
    notifier_.status("failed: " + port.error().detail);
    return 1;
  }
  port_ = *port;
  url_ = server_.base_url();
  std::atomic<bool> listen_ended{false};
  std::thread server_thread([this, &listen_ended] {
    server_.listen();
    listen_ended = true;
  });
  while (!server_.is_running() && !listen_ended) std::this_thread::yield();
  if (listen_ended) {
    server_thread.join();
    std::cerr << "oauthdemo-apid: the server could not start (epoll/eventfd failed)\n";
    return 1;
  }
  std::cerr << "oauthdemo-apid listening on " << url_ << "/\n";
  if (!settings_.ready_file.empty() && settings_.ready_when == ReadyWhen::Listening &&
      !write_ready_file(settings_.ready_file, url_, port_))
    log_error("cannot write the ready file " + settings_.ready_file);
  notifier_.status("listening on " + url_ + "; loading keys");

  auto shutdown = [&](int code) {
    notifier_.stopping();
    if (settings_.shutdown_drain.count() > 0) {
      // Readiness fails first so a load balancer moves away while requests are still served;
      // a second SIGTERM or SIGINT ends the drain early.
      log_info("draining for " + std::to_string(settings_.shutdown_drain.count()) + " s before stopping");
      server_.drain();
      const auto until = Steady::now() + settings_.shutdown_drain;
      for (auto now = Steady::now(); now < until; now = Steady::now()) {
        const int sig = wait_signal(signals, std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
        if (sig == SIGTERM || sig == SIGINT) break;
      }
    }
    log_info("stopping: finishing in-flight requests");
    server_.stop();
    server_thread.join();
    flush_logs();
    return code;
  };

  bool terminate = false;
  auto resolved = resolve_with_retry(signals, terminate);
  if (terminate) return shutdown(0);
  if (!resolved) {
    std::cerr << "oauthdemo-apid: " << resolved.error().detail << "\n";
    log_error(resolved.error().message());
    notifier_.status("configuration error: " + resolved.error().detail);
    return shutdown(1);
  }
  keys_.reconfigure(cache_options(settings_));
  if (!settings_.jwks_cache_file.empty()) {
    auto loaded = keys_.load_snapshot_file();
    if (loaded) {
      log_info("loaded the JWKS snapshot " + settings_.jwks_cache_file);
    } else {
      log_info("JWKS snapshot not used: " + loaded.error().detail);
    }
  }

  int exit_code = 0;
  {
    Refresher refresher(keys_);
    const auto watchdog = SystemdNotifier::watchdog_interval();
    bool ready = false;
    auto last_status = Steady::now();
    for (;;) {
      std::chrono::milliseconds tick = ready ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(25);
      if (watchdog) tick = std::min(tick, std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2));
      const int sig = wait_signal(signals, tick);
      if (sig == SIGTERM || sig == SIGINT) break;
      if (sig == SIGHUP) {
        reload();
        refresher.poke();
      }
      if (!ready && keys_.usable_snapshot()) {
        ready = true;
        announce_ready();
      }
      if (watchdog) {
        // Liveness: the server still accepts and the refresher thread is not stuck.
        const bool alive = server_.is_running() && Steady::now() - refresher.heartbeat() < std::chrono::seconds(30);
        if (alive) notifier_.watchdog();
      }
      if (Steady::now() - last_status > std::chrono::seconds(10)) {
        notifier_.status(status_line(keys_, url_));
        last_status = Steady::now();
      }
    }
  }
  return shutdown(exit_code);
}

}  // namespace

int run_daemon(int argc, const char* const* argv) {
  // Signals are taken synchronously by the main loop (sigtimedwait); every thread started
  // after this inherits the mask, so no handler runs on a worker.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto command_line = parse_command_line(argc, argv);
  if (!command_line) {
    // The shape of config::usage_error_text, as in the other two programs.
    std::cerr << "oauthdemo-apid: error: " << command_line.error().detail
              << "\noauthdemo-apid: run 'oauthdemo-apid --help' for the usage\n";
    return config::kUsageExitCode;
  }
  if (command_line->help) {
    std::cout << command_line->help_text;
    return 0;
  }
  auto settings = load_settings(*command_line);
  SystemdNotifier notifier;
  if (!settings) {
    std::cerr << "oauthdemo-apid: " << settings.error().detail << "\n";
    notifier.status("configuration error: " + settings.error().detail);
    return 1;
  }
  configure_logging(settings->log_format, settings->log_level);
  try {
    Daemon daemon(std::move(*command_line), std::move(*settings));
    return daemon.run(signals);
  } catch (const std::exception& e) {
    std::cerr << "oauthdemo-apid: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace oauthdemo::daemon
