#include "devidp/sessions.h"

#include <cctype>

#include "common/base/digest.h"
#include "common/oauth/pkce.h"

namespace oauthdemo::devidp {
namespace {

std::string key_of(std::string_view secret) { return base::sha256(secret); }

template <typename Map, typename Pred>
void erase_if_map(Map& map, Pred pred) {
  for (auto it = map.begin(); it != map.end();) it = pred(it->second) ? map.erase(it) : std::next(it);
}

}  // namespace

std::optional<std::string> normalize_user_code(std::string_view input) {
  if (input.size() > 32) return std::nullopt;
  std::string out;
  for (char c : input) {
    if (c == '-' || c == ' ') continue;
    const char up = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (kUserCodeAlphabet.find(up) == std::string_view::npos) return std::nullopt;
    out += up;
  }
  if (out.size() != 8) return std::nullopt;
  return out;
}

SessionStore::SessionStore(Clock& clock, RandomSource& random, SessionLimits limits)
    : clock_(clock), random_(random), limits_(limits) {}

Result<std::string> SessionStore::random_value(std::size_t bytes) { return random_token(random_, bytes); }

Result<std::string> SessionStore::make_user_code() {
  // Rejection sampling keeps every letter equally likely (240 = 12 * 20).
  std::string code;
  while (code.size() < 8) {
    auto raw = random_.bytes(16);
    if (!raw) return tl::unexpected(raw.error());
    for (unsigned char b : *raw) {
      if (b >= 240 || code.size() == 8) continue;
      code += kUserCodeAlphabet[b % kUserCodeAlphabet.size()];
    }
  }
  return code;
}

void SessionStore::purge(SystemTime now) {
  erase_if_map(txns_, [&](const TxnRecord& r) { return r.expires <= now; });
  erase_if_map(codes_, [&](const CodeRecord& r) { return r.expires <= now; });
  erase_if_map(families_, [&](const Family& f) { return f.expires <= now; });
  erase_if_map(refresh_, [&](const RefreshRecord& r) { return families_.find(r.family_id) == families_.end(); });
  // Expired device codes stay one more lifetime so late polls hear expired_token (RFC 8628 §3.5).
  erase_if_map(devices_, [&](const DeviceRecord& d) { return d.expires + limits_.device_code_ttl <= now; });
  erase_if_map(user_codes_, [&](const std::string& key) { return devices_.find(key) == devices_.end(); });
}

// ---- login transactions ----

Result<std::string> SessionStore::create_txn(LoginTxn txn) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  purge(now);
  if (txns_.size() >= limits_.max_entries) return fail(Errc::OAuthServerError, "too many pending logins");
  auto id = random_value(24);
  if (!id) return id;
  txns_[*id] = TxnRecord{std::move(txn), now + limits_.login_txn_ttl};
  return id;
}

std::optional<LoginTxn> SessionStore::find_txn(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second.expires <= clock_.now()) return std::nullopt;
  return it->second.txn;
}

bool SessionStore::record_failed_login(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = txns_.find(id);
  if (it == txns_.end()) return false;
  if (++it->second.txn.failed_logins >= limits_.max_failed_logins) {
    txns_.erase(it);
    return false;
  }
  return true;
}

void SessionStore::drop_txn(std::string_view id) {
  std::lock_guard lock(mu_);
  if (auto it = txns_.find(id); it != txns_.end()) txns_.erase(it);
}

// ---- authorization codes ----

Result<std::string> SessionStore::issue_code(const AuthRequest& request, const Grant& grant) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  purge(now);
  if (codes_.size() >= limits_.max_entries) return fail(Errc::OAuthServerError, "too many outstanding codes");
  auto code = random_value(32);
  if (!code) return code;
  codes_[key_of(*code)] = CodeRecord{request, grant, now + limits_.code_ttl, false, {}};
  return code;
}

Result<Grant> SessionStore::redeem_code(std::string_view code, std::string_view client_id,
                                        std::string_view redirect_uri, std::string_view code_verifier) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  auto it = codes_.find(key_of(code));
  if (it == codes_.end()) return fail(Errc::OAuthInvalidGrant, "invalid authorization code");
  CodeRecord& rec = it->second;
  if (rec.used) {
    // RFC 6749 §4.1.2: a code used twice revokes what was issued from it.
    if (!rec.family_id.empty())
      if (auto f = families_.find(rec.family_id); f != families_.end()) f->second.revoked = true;
    return fail(Errc::OAuthInvalidGrant, "authorization code has already been used");
  }
  if (rec.expires <= now) return fail(Errc::OAuthInvalidGrant, "authorization code has expired");
  if (rec.request.client_id != client_id)
    return fail(Errc::OAuthInvalidGrant, "authorization code was issued to another client");
  if (rec.request.redirect_uri != redirect_uri)
    return fail(Errc::OAuthInvalidGrant, "redirect_uri does not match the one used in /authorize");
  auto challenge = oauth::s256_challenge(code_verifier);
  if (!challenge) return fail(Errc::OAuthInvalidGrant, "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]");
  // A failed verifier also burns the code: one guess per code.
  rec.used = true;
  if (!base::constant_time_equal(*challenge, rec.request.code_challenge))
    return fail(Errc::OAuthInvalidGrant, "code_verifier does not match the code_challenge");
  return rec.grant;
}

void SessionStore::link_code_family(std::string_view code, std::string_view family_id) {
  std::lock_guard lock(mu_);
  if (auto it = codes_.find(key_of(code)); it != codes_.end()) it->second.family_id = std::string(family_id);
}

// ---- refresh tokens ----

Result<std::string> SessionStore::issue_refresh(const Grant& grant, std::string* family_id) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  purge(now);
  if (families_.size() >= limits_.max_entries) return fail(Errc::OAuthServerError, "too many refresh tokens");
  auto family = random_value(16);
  if (!family) return family;
  auto token = random_value(32);
  if (!token) return token;
  families_[*family] = Family{grant, now + limits_.refresh_ttl, false};
  refresh_[key_of(*token)] = RefreshRecord{*family, true};
  if (family_id) *family_id = *family;
  return token;
}

Result<RefreshResult> SessionStore::rotate_refresh(std::string_view token, std::string_view client_id) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  auto it = refresh_.find(key_of(token));
  if (it == refresh_.end()) return fail(Errc::OAuthInvalidGrant, "unknown or expired refresh token");
  auto fam = families_.find(it->second.family_id);
  if (fam == families_.end() || fam->second.expires <= now)
    return fail(Errc::OAuthInvalidGrant, "unknown or expired refresh token");
  if (fam->second.grant.client_id != client_id)
    return fail(Errc::OAuthInvalidGrant, "refresh token was issued to another client");
  if (fam->second.revoked) return fail(Errc::OAuthInvalidGrant, "refresh token has been revoked");
  if (!it->second.current) {
    // Reuse of a rotated token: someone else may hold the family (RFC 9700 §4.14.2).
    fam->second.revoked = true;
    return fail(Errc::OAuthInvalidGrant, "refresh token reuse detected; the token family has been revoked");
  }
  auto next = random_value(32);
  if (!next) return tl::unexpected(next.error());
  it->second.current = false;
  refresh_[key_of(*next)] = RefreshRecord{fam->first, true};
  return RefreshResult{fam->second.grant, *next};
}

void SessionStore::revoke_refresh(std::string_view token, std::string_view client_id) {
  std::lock_guard lock(mu_);
  auto it = refresh_.find(key_of(token));
  if (it == refresh_.end()) return;
  auto fam = families_.find(it->second.family_id);
  if (fam != families_.end() && fam->second.grant.client_id == client_id) fam->second.revoked = true;
}

void SessionStore::revoke_family(std::string_view family_id) {
  std::lock_guard lock(mu_);
  if (auto fam = families_.find(family_id); fam != families_.end()) fam->second.revoked = true;
}

// ---- device codes ----

Result<DeviceStart> SessionStore::start_device(const DevicePending& pending) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  purge(now);
  if (devices_.size() >= limits_.max_entries) return fail(Errc::OAuthServerError, "too many pending devices");
  auto device_code = random_value(32);
  if (!device_code) return tl::unexpected(device_code.error());
  std::string user_code;
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto candidate = make_user_code();
    if (!candidate) return tl::unexpected(candidate.error());
    if (user_codes_.find(*candidate) == user_codes_.end()) {
      user_code = *candidate;
      break;
    }
  }
  if (user_code.empty()) return fail(Errc::OAuthServerError, "could not allocate a user code");
  const std::string key = key_of(*device_code);
  devices_[key] = DeviceRecord{pending, user_code, now + limits_.device_code_ttl, limits_.device_interval,
                               std::nullopt, DeviceState::Pending, {}, {}};
  user_codes_[user_code] = key;
  return DeviceStart{*device_code, user_code.substr(0, 4) + "-" + user_code.substr(4), limits_.device_code_ttl,
                     limits_.device_interval};
}

std::optional<DevicePending> SessionStore::find_device(std::string_view user_code) {
  std::lock_guard lock(mu_);
  auto canonical = normalize_user_code(user_code);
  if (!canonical) return std::nullopt;
  auto uc = user_codes_.find(*canonical);
  if (uc == user_codes_.end()) return std::nullopt;
  auto dev = devices_.find(uc->second);
  if (dev == devices_.end() || dev->second.state != DeviceState::Pending || dev->second.expires <= clock_.now())
    return std::nullopt;
  return dev->second.pending;
}

bool SessionStore::approve_device(std::string_view user_code, std::string_view username, SystemTime auth_time) {
  std::lock_guard lock(mu_);
  auto canonical = normalize_user_code(user_code);
  if (!canonical) return false;
  auto uc = user_codes_.find(*canonical);
  if (uc == user_codes_.end()) return false;
  auto dev = devices_.find(uc->second);
  if (dev == devices_.end() || dev->second.state != DeviceState::Pending || dev->second.expires <= clock_.now())
    return false;
  dev->second.state = DeviceState::Approved;
  dev->second.username = std::string(username);
  dev->second.auth_time = auth_time;
  return true;
}

bool SessionStore::deny_device(std::string_view user_code) {
  std::lock_guard lock(mu_);
  auto canonical = normalize_user_code(user_code);
  if (!canonical) return false;
  auto uc = user_codes_.find(*canonical);
  if (uc == user_codes_.end()) return false;
  auto dev = devices_.find(uc->second);
  if (dev == devices_.end() || dev->second.state != DeviceState::Pending || dev->second.expires <= clock_.now())
    return false;
  dev->second.state = DeviceState::Denied;
  return true;
}

Result<Grant> SessionStore::poll_device(std::string_view device_code, std::string_view client_id) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  auto it = devices_.find(key_of(device_code));
  if (it == devices_.end()) return fail(Errc::OAuthInvalidGrant, "unknown device_code");
  DeviceRecord& dev = it->second;
  if (dev.pending.client_id != client_id) return fail(Errc::OAuthInvalidGrant, "device_code was issued to another client");
  if (dev.state == DeviceState::Used) return fail(Errc::OAuthInvalidGrant, "device_code has already been used");
  if (dev.expires <= now) return fail(Errc::OAuthExpiredToken, "the device code has expired");
  if (dev.state == DeviceState::Denied) return fail(Errc::OAuthAccessDenied, "the user denied the request");
  const auto last = dev.last_poll;
  dev.last_poll = now;
  if (last && now - *last < dev.interval) {
    dev.interval += Seconds{5};  // RFC 8628 §3.5
    return fail(Errc::OAuthSlowDown, "polling too fast; wait " + std::to_string(dev.interval.count()) + " seconds");
  }
  if (dev.state == DeviceState::Pending) return fail(Errc::OAuthAuthorizationPending, "the user has not yet approved");
  dev.state = DeviceState::Used;
  Grant grant{dev.pending.client_id, dev.username, dev.pending.scope, dev.pending.audience, {}, dev.auth_time};
  return grant;
}

}  // namespace oauthdemo::devidp
