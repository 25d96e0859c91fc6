#pragma once
// Server-side state of the dev authorization server: login transactions, authorization codes
// (RFC 6749 §4.1), refresh token families (rotation and reuse detection), device codes (RFC 8628).
// Thread-safe; time from an injected Clock, randomness from an injected RandomSource. Codes and
// refresh tokens are stored only as SHA-256 hashes.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/base/random.h"

namespace oauthdemo::devidp {

// What was authorized: the basis of every token issued from a code, refresh or device grant.
struct Grant {
  std::string client_id;
  std::string username;        // empty for client_credentials
  std::string scope;           // space-separated, already validated
  std::string audience;        // may be empty (tokens for /userinfo only)
  std::string nonce;           // OIDC, from /authorize
  SystemTime auth_time{};
};

// A validated /authorize request waiting for the user to log in.
struct AuthRequest {
  std::string client_id;
  std::string redirect_uri;
  std::string scope;
  std::string audience;
  std::string state;
  std::string nonce;
  std::string code_challenge;  // S256
};

enum class TxnKind { Authorize, Device };

struct LoginTxn {
  TxnKind kind = TxnKind::Authorize;
  AuthRequest request;          // Authorize
  std::string user_code;        // Device (canonical, no dash)
  int failed_logins = 0;
};

struct SessionLimits {
  Seconds code_ttl{60};
  Seconds refresh_ttl{86400};
  Seconds device_code_ttl{600};
  Seconds device_interval{5};
  Seconds login_txn_ttl{600};
  int max_failed_logins = 5;
  std::size_t max_entries = 10000;  // per table; the oldest expired entries go first
};

struct DeviceStart {
  std::string device_code;
  std::string user_code;  // "BCDF-GHJK"
  Seconds expires_in{};
  Seconds interval{};
};

struct DevicePending {
  std::string client_id;
  std::string scope;
  std::string audience;
};

struct RefreshResult {
  Grant grant;
  std::string refresh_token;  // the new token of the family
};

// The unambiguous alphabet of user codes (RFC 8628 §6.1: no vowels, no 0/O 1/I confusion).
inline constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";

// Upper-cases and removes '-' and spaces; nullopt unless 8 letters of kUserCodeAlphabet remain.
std::optional<std::string> normalize_user_code(std::string_view input);

class SessionStore {
 public:
  SessionStore(Clock& clock, RandomSource& random, SessionLimits limits);

  const SessionLimits& limits() const { return limits_; }

  // Login transactions (opaque id in the login form). Errc::CryptoFailure.
  Result<std::string> create_txn(LoginTxn txn);
  // The transaction if it exists and has not expired.
  std::optional<LoginTxn> find_txn(std::string_view id);
  // Counts a failed login; returns false (and drops the transaction) once the limit is reached.
  bool record_failed_login(std::string_view id);
  void drop_txn(std::string_view id);

  // Issues a single-use code bound to the request and the user. Errc::CryptoFailure.
  Result<std::string> issue_code(const AuthRequest& request, const Grant& grant);
  // Redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.6): client, redirect_uri and S256 verifier must
  // match. A second redemption fails and revokes the refresh family issued from the first one.
  // Errc::OAuthInvalidGrant (unknown, expired, used, mismatch), Errc::OAuthInvalidRequest (bad verifier).
  Result<Grant> redeem_code(std::string_view code, std::string_view client_id, std::string_view redirect_uri,
                            std::string_view code_verifier);
  // Remembers the refresh family issued from a redeemed code, so a replay can revoke it.
  void link_code_family(std::string_view code, std::string_view family_id);

  // A new refresh token family. Returns the token; `family_id` receives its id.
  Result<std::string> issue_refresh(const Grant& grant, std::string* family_id = nullptr);
  // Rotation: the presented token must be the family's current one; reuse of an older token
  // revokes the family. Errc::OAuthInvalidGrant.
  Result<RefreshResult> rotate_refresh(std::string_view token, std::string_view client_id);
  // RFC 7009: revokes the token's family when it belongs to `client_id`; unknown tokens are ignored.
  void revoke_refresh(std::string_view token, std::string_view client_id);
  void revoke_family(std::string_view family_id);

  // RFC 8628 §3.1-3.2.
  Result<DeviceStart> start_device(const DevicePending& pending);
  // A pending (not yet approved/denied, not expired) device request by user code.
  std::optional<DevicePending> find_device(std::string_view user_code);
  // Approve/deny by user code; false if the code is unknown, expired or already decided.
  bool approve_device(std::string_view user_code, std::string_view username, SystemTime auth_time);
  bool deny_device(std::string_view user_code);
  // RFC 8628 §3.4-3.5: Errc::OAuthAuthorizationPending, OAuthSlowDown (interval grows by 5 s),
  // OAuthExpiredToken, OAuthAccessDenied, OAuthInvalidGrant (unknown, other client, used).
  Result<Grant> poll_device(std::string_view device_code, std::string_view client_id);

 private:
  struct CodeRecord {
    AuthRequest request;
    Grant grant;
    SystemTime expires;
    bool used = false;
    std::string family_id;
  };
  struct RefreshRecord {
    std::string family_id;
    bool current = true;
  };
  struct Family {
    Grant grant;
    SystemTime expires;
    bool revoked = false;
  };
  enum class DeviceState { Pending, Approved, Denied, Used };
  struct DeviceRecord {
    DevicePending pending;
    std::string user_code;
    SystemTime expires;
    Seconds interval;
    std::optional<SystemTime> last_poll;
    DeviceState state = DeviceState::Pending;
    std::string username;
    SystemTime auth_time{};
  };
  struct TxnRecord {
    LoginTxn txn;
    SystemTime expires;
  };

  Result<std::string> random_value(std::size_t bytes);
  Result<std::string> make_user_code();
  void purge(SystemTime now);

  Clock& clock_;
  RandomSource& random_;
  SessionLimits limits_;
  std::mutex mu_;
  std::map<std::string, TxnRecord, std::less<>> txns_;
  std::map<std::string, CodeRecord, std::less<>> codes_;            // key: sha256(code)
  std::map<std::string, RefreshRecord, std::less<>> refresh_;       // key: sha256(token)
  std::map<std::string, Family, std::less<>> families_;
  std::map<std::string, DeviceRecord, std::less<>> devices_;        // key: sha256(device_code)
  std::map<std::string, std::string, std::less<>> user_codes_;      // user code -> device key
};

}  // namespace oauthdemo::devidp
