#include "daemon/jwks_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "common/base/digest.h"
#include "common/jose/json.h"
#include "daemon/logging.h"

namespace oauthdemo::daemon {
namespace {

using Steady = std::chrono::steady_clock;

constexpr std::size_t kMaxSnapshotFileBytes = 1024 * 1024;

Steady::duration scaled(Seconds base, double factor, double jitter) {
  const double s = static_cast<double>(base.count()) * factor * (1.0 + 0.1 * std::clamp(jitter, -1.0, 1.0));
  return std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(std::max(s, 0.0)));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

JitterSource make_seeded_jitter(std::uint64_t seed) {
  struct State {
    std::mutex mu;
    std::mt19937_64 engine;
  };
  auto state = std::make_shared<State>();
  state->engine.seed(seed);
  return [state]() {
    std::lock_guard lock(state->mu);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    return dist(state->engine);
  };
}

std::optional<Seconds> parse_max_age(std::string_view cache_control) {
  const std::string cc = lower(cache_control);
  std::optional<Seconds> result;
  std::size_t pos = 0;
  while (pos < cc.size()) {
    auto comma = cc.find(',', pos);
    std::string_view item(cc);
    item = item.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "no-store" || item == "no-cache") return Seconds{0};
    if (item.starts_with("max-age=")) {
      auto digits = item.substr(8);
      if (!digits.empty() && digits.front() == '"' && digits.size() >= 2 && digits.back() == '"')
        digits = digits.substr(1, digits.size() - 2);
      if (digits.empty() || digits.size() > 10) return std::nullopt;
      long long value = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
      }
      result = Seconds{value};
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return result;
}

JwksCache::JwksCache(JwksCacheOptions options, http::HttpClient& http, const Clock& clock, JitterSource jitter,
                     Metrics* metrics)
    : options_(std::move(options)), http_(http), clock_(clock), jitter_(std::move(jitter)), metrics_(metrics) {
  if (!jitter_) jitter_ = [] { return 0.0; };
  next_due_ = clock_.steady_now();
  bucket_tokens_ = options_.refetch_burst;
  bucket_refilled_ = clock_.steady_now();
}

SnapshotPtr JwksCache::snapshot() const {
  std::lock_guard lock(mu_);
  return current_;
}

SnapshotPtr JwksCache::usable_snapshot() const {
  SnapshotPtr snap;
  Seconds max_stale;
  {
    std::lock_guard lock(mu_);
    snap = current_;
    max_stale = options_.max_stale_age;
  }
  if (!snap) return nullptr;
  if (clock_.now() - snap->fetched_at > max_stale) return nullptr;
  return snap;
}

namespace {

Result<nlohmann::json> read_snapshot_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::IoError, "cannot read " + path);
  std::string text(kMaxSnapshotFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxSnapshotFileBytes) return fail(Errc::JwksMalformed, path + " is too large");
  auto doc = jose::parse_strict_object(text);
  if (!doc) return fail(Errc::JwksMalformed, path + ": " + doc.error().detail);
  const auto& j = *doc;
  if (!j.contains("jwks_uri") || !j["jwks_uri"].is_string() || !j.contains("fetched_at") ||
      !j["fetched_at"].is_number_integer() || !j.contains("jwks") || !j["jwks"].is_string())
    return fail(Errc::JwksMalformed, path + " lacks jwks_uri, fetched_at or jwks");
  return doc;
}

}  // namespace

Result<std::string> snapshot_jwks_uri(const std::string& path, const std::string& issuer) {
  auto doc = read_snapshot_json(path);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->contains("issuer") || !(*doc)["issuer"].is_string() || (*doc)["issuer"].get<std::string>() != issuer)
    return fail(Errc::JwksUnavailable, path + " was written for another issuer");
  return (*doc)["jwks_uri"].get<std::string>();
}

Result<void> JwksCache::load_snapshot_file() {
  JwksCacheOptions options;
  {
    std::lock_guard lock(mu_);
    options = options_;
  }
  if (options.snapshot_file.empty()) return fail(Errc::InvalidArgument, "no JWKS cache file configured");
  auto doc = read_snapshot_json(options.snapshot_file);
  if (!doc) return tl::unexpected(doc.error());
  const auto& j = *doc;
  if (j["jwks_uri"].get<std::string>() != options.jwks_uri)
    return fail(Errc::JwksUnavailable, options.snapshot_file + " holds keys for another JWKS URI");
  const SystemTime fetched_at = from_unix(j["fetched_at"].get<int64_t>());
  const auto age = clock_.now() - fetched_at;
  if (age > options.max_stale_age || age < -Seconds{300})
    return fail(Errc::JwksUnavailable, options.snapshot_file + " is older than the maximum stale age");
  const std::string body = j["jwks"].get<std::string>();
  auto jwks = jose::Jwks::parse(body, {options.max_body_bytes, 100});
  if (!jwks) return fail(jwks.error().code, options.snapshot_file + ": " + jwks.error().detail);
  auto snap = std::make_shared<KeySnapshot>();
  snap->jwks = std::make_shared<const jose::Jwks>(std::move(*jwks));
  snap->fetched_at = fetched_at;
  snap->max_age = Seconds{j.value("max_age", int64_t{0})};
  snap->etag = j.contains("etag") && j["etag"].is_string() ? j["etag"].get<std::string>() : "";
  snap->body_digest = base::sha256(body);
  snap->body = body;
  {
    std::lock_guard lock(mu_);
    snap->generation = next_generation_++;
    current_ = std::move(snap);
    next_due_ = clock_.steady_now();  // revalidate right away
  }
  return {};
}

Result<void> JwksCache::refresh() {
  std::unique_lock lock(mu_);
  if (fetching_) {
    const auto seq = fetch_seq_;
    ++waiters_;
    fetch_done_.wait(lock, [&] { return fetch_seq_ != seq; });
    --waiters_;
    return last_fetch_result_;
  }
  fetching_ = true;
  lock.unlock();
  auto result = fetch_once();
  lock.lock();
  fetching_ = false;
  ++fetch_seq_;
  last_fetch_result_ = result;
  fetch_done_.notify_all();
  return result;
}

bool JwksCache::take_refetch_permit() {
  // Called with mu_ held.
  const auto now = clock_.steady_now();
  if (have_kid_refetch_ && now - last_kid_refetch_ < options_.kid_refetch_cooldown) return false;
  if (now < retry_after_until_) return false;
  const double elapsed = std::chrono::duration<double>(now - bucket_refilled_).count();
  bucket_tokens_ = std::min(options_.refetch_burst, bucket_tokens_ + elapsed * options_.refetch_per_minute / 60.0);
  bucket_refilled_ = now;
  if (bucket_tokens_ < 1.0) return false;
  bucket_tokens_ -= 1.0;
  have_kid_refetch_ = true;
  last_kid_refetch_ = now;
  return true;
}

SnapshotPtr JwksCache::refetch_for_unknown_kid(std::uint64_t seen_generation) {
  {
    std::unique_lock lock(mu_);
    if (current_ && current_->generation != seen_generation) {
      lock.unlock();
      return usable_snapshot();
    }
    if (fetching_) {
      // Join the fetch in flight rather than starting another (single-flight).
      const auto seq = fetch_seq_;
      ++waiters_;
      fetch_done_.wait(lock, [&] { return fetch_seq_ != seq; });
      --waiters_;
      const bool changed = current_ && current_->generation != seen_generation;
      lock.unlock();
      return changed ? usable_snapshot() : nullptr;
    }
    if (!take_refetch_permit()) {
      if (metrics_) metrics_->record_refetch_suppressed();
      return nullptr;
    }
  }
  (void)refresh();
  auto snap = usable_snapshot();
  if (snap && snap->generation != seen_generation) return snap;
  return nullptr;
}

std::optional<Seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;
  long long seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return Seconds{seconds};
}

Result<void> JwksCache::fetch_once() {
  JwksCacheOptions options;
  SnapshotPtr current;
  {
    std::lock_guard lock(mu_);
    options = options_;
    current = current_;
  }
  auto record = [&](FetchResult r) {
    if (metrics_) metrics_->record_jwks_fetch(r);
  };
  auto failed = [&](Error error) -> Result<void> {
    if (metrics_) metrics_->record_fetch_outcome(fetch_outcome_for(error.code));
    log_warn("JWKS fetch from " + options.jwks_uri + " failed: " + error.message());
    {
      std::lock_guard lock(mu_);
      last_error_ = error.message();
    }
    schedule_after_failure();
    return tl::unexpected(std::move(error));
  };
  if (options.jwks_uri.empty()) {
    record(FetchResult::Error);
    return failed(Error{Errc::JwksUnavailable, "no JWKS URI configured yet"});
  }

  http::HttpRequest request;
  request.url = options.jwks_uri;
  request.headers.emplace_back("Accept", "application/jwk-set+json, application/json");
  if (current && !current->etag.empty()) request.headers.emplace_back("If-None-Match", current->etag);
  request.timeout = options.fetch_timeout;
  request.deadline = options.fetch_timeout;  // the whole exchange, whatever the provider's pace
  request.max_response_bytes = options.max_body_bytes;

  auto response = http_.send(request);
  if (!response) {
    record(FetchResult::Error);
    return failed(response.error());
  }
  const auto max_age_of = [&](const http::HttpResponse& r) {
    auto max_age = parse_max_age(r.header("Cache-Control")).value_or(options.default_max_age);
    return std::clamp(max_age, options.min_max_age, options.max_max_age);
  };
  if (response->status == 304 && current) {
    // RFC 9110 §13.1.2 / RFC 9111 §4.3.4: the stored set is still current; refresh its age.
    auto snap = std::make_shared<KeySnapshot>(*current);
    snap->fetched_at = clock_.now();
    snap->max_age = max_age_of(*response);
    if (auto etag = response->header("ETag"); !etag.empty()) snap->etag = etag;
    record(FetchResult::NotModified);
    if (metrics_) metrics_->record_fetch_outcome(FetchOutcome::Ok);
    install(snap);
    schedule_after_success(snap->max_age);
    persist(*snap);
    return {};
  }
  if (response->status != 200) {
    record(FetchResult::Error);
    if (response->status == 429 || response->status == 503) {
      // RFC 9110 §10.2.3 / RFC 6585 §4: the provider says when to come back; neither the
      // schedule nor an unknown kid asks earlier (capped by max_backoff).
      if (auto after = parse_retry_after(response->header("Retry-After"))) {
        const auto wait = std::min(*after, options.max_backoff);
        auto result = failed(Error{Errc::HttpBadStatus, "JWKS endpoint " + options.jwks_uri + " answered HTTP " +
                                                            std::to_string(response->status) + " (Retry-After " +
                                                            std::to_string(after->count()) + " s)"});
        std::lock_guard lock(mu_);
        retry_after_until_ = clock_.steady_now() + wait;
        next_due_ = std::max(next_due_, retry_after_until_);
        return result;
      }
    }
    return failed(Error{Errc::HttpBadStatus,
                        "JWKS endpoint " + options.jwks_uri + " answered HTTP " + std::to_string(response->status)});
  }
  auto jwks = jose::Jwks::parse(response->body, {options.max_body_bytes, 100});
  if (!jwks) {
    record(FetchResult::Invalid);
    return failed(jwks.error());
  }
  for (const auto& skipped : jwks->skipped())
    log_warn("JWKS key \"" + skipped.kid + "\" skipped: " + skipped.reason.detail);
  auto snap = std::make_shared<KeySnapshot>();
  snap->body_digest = base::sha256(response->body);
  snap->jwks = std::make_shared<const jose::Jwks>(std::move(*jwks));
  snap->fetched_at = clock_.now();
  snap->max_age = max_age_of(*response);
  snap->etag = response->header("ETag");
  snap->body = std::move(response->body);
  record(FetchResult::Ok);
  if (metrics_) metrics_->record_fetch_outcome(FetchOutcome::Ok);
  install(snap);
  schedule_after_success(snap->max_age);
  persist(*snap);
  return {};
}

void JwksCache::install(SnapshotPtr snapshot) {
  auto fresh = std::const_pointer_cast<KeySnapshot>(snapshot);
  std::lock_guard lock(mu_);
  if (current_ && current_->body_digest == fresh->body_digest) {
    fresh->generation = current_->generation;  // same keys: keep token-cache entries
  } else {
    fresh->generation = next_generation_++;
  }
  current_ = std::move(fresh);
  consecutive_failures_ = 0;
  last_error_.clear();
}

void JwksCache::schedule_after_success(Seconds max_age) {
  const double j = jitter_();
  std::lock_guard lock(mu_);
  next_due_ = clock_.steady_now() + scaled(max_age, 0.8, j);
}

void JwksCache::schedule_after_failure() {
  const double j = jitter_();
  std::lock_guard lock(mu_);
  ++consecutive_failures_;
  Seconds backoff = options_.initial_backoff;
  for (int i = 1; i < consecutive_failures_ && backoff < options_.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff);
  next_due_ = clock_.steady_now() + scaled(backoff, 1.0, j);
}

std::chrono::steady_clock::time_point JwksCache::run_due_work() {
  if (clock_.steady_now() >= next_refresh_due()) (void)refresh();
  return next_refresh_due();
}

std::chrono::steady_clock::time_point JwksCache::next_refresh_due() const {
  std::lock_guard lock(mu_);
  return next_due_;
}

void JwksCache::schedule_now() {
  std::lock_guard lock(mu_);
  next_due_ = clock_.steady_now();
}

void JwksCache::reconfigure(JwksCacheOptions options) {
  std::lock_guard lock(mu_);
  if (options.jwks_uri != options_.jwks_uri) {
    current_.reset();
    consecutive_failures_ = 0;
  }
  options_ = std::move(options);
  bucket_tokens_ = std::min(bucket_tokens_, options_.refetch_burst);
  next_due_ = clock_.steady_now();
}

JwksStatus JwksCache::status() const {
  JwksStatus s;
  SnapshotPtr snap;
  {
    std::lock_guard lock(mu_);
    snap = current_;
    s.consecutive_failures = consecutive_failures_;
    s.last_error = last_error_;
  }
  if (snap) {
    s.has_keys = true;
    s.keys = snap->jwks->size();
    s.generation = snap->generation;
    s.age_seconds = std::chrono::duration<double>(clock_.now() - snap->fetched_at).count();
  }
  s.usable = usable_snapshot() != nullptr;
  return s;
}

int JwksCache::fetch_waiters() const {
  std::lock_guard lock(mu_);
  return waiters_;
}

JwksGauges JwksCache::gauges() const {
  const auto s = status();
  return JwksGauges{s.has_keys, s.age_seconds, s.keys, s.generation, s.usable};
}

void JwksCache::persist(const KeySnapshot& snapshot) {
  std::string path;
  std::string issuer;
  std::string uri;
  {
    std::lock_guard lock(mu_);
    path = options_.snapshot_file;
    issuer = options_.issuer;
    uri = options_.jwks_uri;
  }
  if (path.empty()) return;
  nlohmann::json doc = {{"version", 1},
                        {"jwks_uri", uri},
                        {"issuer", issuer},
                        {"fetched_at", to_unix(snapshot.fetched_at)},
                        {"max_age", snapshot.max_age.count()},
                        {"etag", snapshot.etag},
                        {"jwks", snapshot.body}};
  const std::string text = doc.dump();
  // Atomic replace: write a sibling temp file, fsync, rename (POSIX rename is atomic).
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    log_warn("cannot write JWKS cache file " + tmp);
    return;
  }
  std::size_t written = 0;
  bool ok = true;
  while (written < text.size()) {
    auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    log_warn("cannot write JWKS cache file " + path);
  }
}

}  // namespace oauthdemo::daemon
