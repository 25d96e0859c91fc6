// oauthdemo-devidp: wiring only (flags, logging, signals, ready file). Development server.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/config/usage.h"
#include "devidp/server.h"

namespace {

using namespace oauthdemo;
using devidp::Registry;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string ready_file;
  std::string config;
  std::string key_file;
  int access_token_ttl = 3600;
  int id_token_ttl = 3600;
  int refresh_token_ttl = 86400;
  int code_ttl = 60;
  int device_code_ttl = 600;
  int device_interval = 5;
  std::string log_level = "info";
};

std::optional<std::string> getenv_lookup(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

bool write_ready_file(const std::string& path, const std::string& issuer, int port) {
  const nlohmann::json doc = {{"url", issuer}, {"issuer", issuer}, {"port", port}, {"pid", static_cast<int>(::getpid())}};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << doc.dump() << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

Result<Registry> load_registry(const std::string& path) {
  if (path.empty()) return Registry::builtin(getenv_lookup);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::ConfigFileUnreadable, "cannot read config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto reg = Registry::from_json(text.str(), getenv_lookup);
  if (!reg) return fail(reg.error().code, path + ": " + reg.error().detail);
  return reg;
}

int run(const Options& opt) {
  auto registry = load_registry(opt.config);
  if (!registry) {
    spdlog::error("{}", registry.error().message());
    return 1;
  }
  for (const auto& note : registry->notes()) spdlog::warn("{}", note);
  auto keys = opt.key_file.empty() ? devidp::KeyRing::generate() : devidp::KeyRing::from_file(opt.key_file);
  if (!keys) {
    spdlog::error("{}", keys.error().message());
    return 1;
  }
  devidp::ServerOptions server_options;
  server_options.host = opt.host;
  server_options.port = opt.port;
  server_options.lifetimes = {Seconds{opt.access_token_ttl}, Seconds{opt.id_token_ttl}};
  server_options.limits.code_ttl = Seconds{opt.code_ttl};
  server_options.limits.refresh_ttl = Seconds{opt.refresh_token_ttl};
  server_options.limits.device_code_ttl = Seconds{opt.device_code_ttl};
  server_options.limits.device_interval = Seconds{opt.device_interval};

  SystemClock clock;
  OpenSslRandom random;
  devidp::Server server(server_options, std::move(*registry), std::move(*keys), clock, random);
  auto port = server.bind();
  if (!port) {
    std::cerr << "oauthdemo-devidp: " << port.error().detail << "\n";
    return 1;
  }

  // Signals are blocked in every thread (set in main); this thread takes them with sigwait, so
  // no work happens in a signal handler. SIGUSR2 only wakes it at shutdown.
  std::thread signals([&server] {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) {
        if (auto r = server.rotate_keys(); !r) spdlog::error("key rotation failed: {}", r.error().message());
        continue;
      }
      if (sig != SIGUSR2) spdlog::info("signal {} received, stopping", sig);
      server.stop();
      return;
    }
  });

  if (!opt.ready_file.empty() && !write_ready_file(opt.ready_file, server.issuer(), *port)) {
    spdlog::error("cannot write ready file {}", opt.ready_file);
    pthread_kill(signals.native_handle(), SIGUSR2);
    signals.join();
    return 1;
  }
  spdlog::info("oauthdemo-devidp listening on {}:{}; issuer {} (development server, not for production)", opt.host,
               *port, server.issuer());
  const bool ok = server.listen();
  pthread_kill(signals.native_handle(), SIGUSR2);
  signals.join();
  spdlog::info("stopped");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Options opt;
  CLI::App app{
      "oauthdemo-devidp: a local Auth0-compatible OAuth 2.0 / OpenID Connect authorization server for development "
      "and tests.\nDEVELOPMENT SERVER - NOT FOR PRODUCTION: demo users and passwords, in-memory state, plain HTTP."};
  app.add_option("--host", opt.host, "Address to bind (loopback by default)")->capture_default_str();
  app.add_option("--port", opt.port, "Port to bind; 0 picks a free port")->capture_default_str()->check(CLI::Range(0, 65535));
  app.add_option("--ready-file", opt.ready_file, "Write {\"url\",\"issuer\",\"port\",\"pid\"} JSON here once listening");
  app.add_option("--config", opt.config, "Clients, APIs and users JSON (default: the built-in demo set)");
  app.add_option("--key-file", opt.key_file, "RSA private key PEM; created with mode 0600 if missing (default: generated in memory)");
  app.add_option("--access-token-ttl", opt.access_token_ttl, "Access token lifetime (seconds)")->capture_default_str()->check(CLI::Range(1, 31536000));
  app.add_option("--id-token-ttl", opt.id_token_ttl, "ID token lifetime (seconds)")->capture_default_str()->check(CLI::Range(1, 31536000));
  app.add_option("--refresh-token-ttl", opt.refresh_token_ttl, "Refresh token family lifetime (seconds)")->capture_default_str()->check(CLI::Range(1, 31536000));
  app.add_option("--code-ttl", opt.code_ttl, "Authorization code lifetime (seconds)")->capture_default_str()->check(CLI::Range(1, 3600));
  app.add_option("--device-code-ttl", opt.device_code_ttl, "Device code lifetime (seconds)")->capture_default_str()->check(CLI::Range(1, 86400));
  app.add_option("--device-interval", opt.device_interval, "Device polling interval (seconds)")->capture_default_str()->check(CLI::Range(0, 600));
  app.add_option("--log-level", opt.log_level, "trace, debug, info, warn, error, off")->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << config::usage_error_text(app, e, "oauthdemo-devidp");
    return config::kUsageExitCode;
  }

  auto logger = spdlog::stderr_logger_mt("devidp");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ devidp %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(opt.log_level));
  try {
    return run(opt);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
