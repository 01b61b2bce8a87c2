// The request-path Authenticator (auth.h): API keys through a bounded cache, password logins on
// the hashing pool, sessions with rotating refresh tokens, roles and permissions.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <list>
#include <mutex>
#include <set>
#include <unordered_map>

#include "auth/internal.h"
#include "auth/sqlgen.h"
#include "common/strings.h"
#include "plinth/auth.h"
#include "plinth/crypto.h"

namespace plinth::auth {
namespace {

using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;
using internal::AuthOp;

constexpr std::string_view kInvalidKey = "invalid API key";
constexpr std::string_view kInvalidLogin = "invalid login or password";
constexpr std::string_view kInvalidToken = "invalid or expired token";
constexpr auto kStatementDeadline = std::chrono::seconds(10);
constexpr size_t kMaxFailureRecords = 10'000;

struct KeyRow {
  std::string id, tenant_id, user_id, hash;
  std::vector<std::string> scopes;
  std::optional<SysClock::time_point> expires_at;
  bool revoked = false;
  bool user_active = true;
  std::vector<Cidr> allowed;
  std::optional<int64_t> rate_limit;
};

struct SessionRow {
  std::string user_id, tenant_id, access_jti, refresh_jti, family;
  SysClock::time_point expires_at{};
  bool revoked = false;
};

// A bounded LRU map with per-entry expiry.
template <typename V>
class Lru {
 public:
  explicit Lru(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}
  std::optional<V> Get(const std::string& k, Clock::time_point now) {
    auto it = map_.find(k);
    if (it == map_.end()) return std::nullopt;
    if (it->second.expires <= now) {
      order_.erase(it->second.pos);
      map_.erase(it);
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second.pos);
    return it->second.value;
  }
  void Put(const std::string& k, V v, Clock::time_point expires) {
    auto it = map_.find(k);
    if (it != map_.end()) {
      it->second.value = std::move(v);
      it->second.expires = expires;
      order_.splice(order_.begin(), order_, it->second.pos);
      return;
    }
    order_.push_front(k);
    map_.emplace(k, Entry{std::move(v), expires, order_.begin()});
    while (map_.size() > capacity_) {
      map_.erase(order_.back());
      order_.pop_back();
    }
  }
  void Erase(const std::string& k) {
    auto it = map_.find(k);
    if (it == map_.end()) return;
    order_.erase(it->second.pos);
    map_.erase(it);
  }
  template <typename Pred>
  void EraseIf(Pred pred) {
    for (auto it = map_.begin(); it != map_.end();) {
      if (pred(it->second.value)) {
        order_.erase(it->second.pos);
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }
  void Clear() {
    map_.clear();
    order_.clear();
  }
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    V value;
    Clock::time_point expires;
    std::list<std::string>::iterator pos;
  };
  size_t capacity_;
  std::list<std::string> order_;
  std::unordered_map<std::string, Entry> map_;
};

std::string Str(const std::optional<std::string>& v) { return v.value_or(""); }

// Statement arguments as a vector, without an initializer list (GCC 12 miscompiles braced
// lists inside co_await expressions).
template <typename... A>
std::vector<std::string> Args(A&&... a) {
  std::vector<std::string> out;
  out.reserve(sizeof...(a));
  (out.emplace_back(std::forward<A>(a)), ...);
  return out;
}

bool HasRole(const data::Principal& p, std::string_view role) {
  return p.role == role || std::find(p.roles.begin(), p.roles.end(), role) != p.roles.end();
}
bool HasPermission(const data::Principal& p, std::string_view perm) {
  return std::find(p.permissions.begin(), p.permissions.end(), perm) != p.permissions.end();
}

class AuthenticatorImpl final : public Authenticator {
 public:
  AuthenticatorImpl(const schema::Schema& schema, AuthConfig config, db::Database& db, crypto::HashPool& pool,
                    crypto::ApiKeyHasher hasher, crypto::JwtCodec jwt, AuthOptions options)
      : config_(std::move(config)),
        db_(db),
        pool_(pool),
        hasher_(std::move(hasher)),
        jwt_(std::move(jwt)),
        opt_(std::move(options)),
        sql_(internal::BuildAuthSql(db.backend(), schema, config_)),
        sqlite_(db.backend() == db::Backend::kSqlite),
        keys_(opt_.key_cache_capacity),
        sessions_(opt_.session_cache_capacity),
        access_(opt_.session_cache_capacity),
        state_(std::make_shared<FlushState>()) {
  }

  void Start(asio::io_context& io) override {
    db_.Listen(std::string(kNotifyChannel), [this, alive = std::weak_ptr<FlushState>(state_)](const std::string& payload) {
      if (alive.expired()) return;
      OnNotification(payload);
    });
    state_->timer = std::make_unique<asio::steady_timer>(io);
    state_->running = true;
    asio::co_spawn(io, FlushLoop(this, state_), asio::detached);
  }

  asio::awaitable<void> Stop() override {
    auto st = state_;
    st->stopping = true;
    if (st->timer) {
      asio::post(st->timer->get_executor(), [st] {
        if (st->timer) st->timer->cancel();
      });
      asio::steady_timer wait(co_await asio::this_coro::executor);
      while (st->running) {
        wait.expires_after(std::chrono::milliseconds(2));
        boost::system::error_code ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    (void)co_await FlushLastUsed();
  }

  // ---- API keys ---------------------------------------------------------------------------

  asio::awaitable<Result<KeyAuth>> AuthenticateApiKey(std::string_view key, std::string_view client_ip) override {
    auto parts = crypto::ParseApiKey(key);  // typos end here, before any query
    if (!parts.ok()) co_return Status(Code::kUnauthenticated, std::string(kInvalidKey));
    if (!sql_.key_lookup.available) co_return Status(Code::kUnauthenticated, std::string(kInvalidKey));
    auto row = co_await LookupKey(parts->lookup_id);
    if (!row.ok()) co_return row.status();
    if (!*row) co_return Status(Code::kUnauthenticated, std::string(kInvalidKey));
    const KeyRow& k = **row;
    if (!hasher_.Verify(*parts, k.hash).ok()) co_return Status(Code::kUnauthenticated, std::string(kInvalidKey));
    if (k.revoked || !k.user_active || (k.expires_at && *k.expires_at <= SysClock::now())) {
      co_return Status(Code::kUnauthenticated, std::string(kInvalidKey));
    }
    if (!IpAllowed(k.allowed, client_ip)) {
      co_return Status(Code::kPermissionDenied, "this API key may not be used from " + std::string(client_ip));
    }
    KeyAuth out;
    out.key.key_id = k.id;
    out.key.lookup_id = parts->lookup_id;
    out.key.rate_limit = k.rate_limit;
    data::Principal& p = out.principal;
    p.kind = data::Principal::Kind::kApiKey;
    p.tenant_id = k.tenant_id;
    p.user_id = k.user_id;
    p.credential_id = k.id;
    std::vector<std::string> perms = k.scopes;
    if (!k.user_id.empty()) {
      auto access = co_await ResolveAccess(k.user_id);
      if (!access.ok()) co_return access.status();
      p.roles = access->roles;
      if (p.tenant_id.empty()) p.tenant_id = access->tenant_id;
      if (config_.roles && config_.roles->has_permissions()) {
        // A key never grants more than its user holds.
        std::vector<std::string> allowed;
        for (const auto& s : k.scopes) {
          if (std::binary_search(access->permissions.begin(), access->permissions.end(), s)) allowed.push_back(s);
        }
        perms = k.scopes.empty() ? access->permissions : allowed;
      }
    }
    std::sort(perms.begin(), perms.end());
    perms.erase(std::unique(perms.begin(), perms.end()), perms.end());
    p.permissions = std::move(perms);
    if (!p.roles.empty()) p.role = p.roles.front();
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_used_[k.id] = SysClock::now();
    }
    co_return out;
  }

  asio::awaitable<Status> RevokeApiKey(const data::Principal& admin, std::string_view key_id) override {
    const bool platform = admin.kind == data::Principal::Kind::kSystem;
    if (!platform && !HasRole(admin, opt_.admin_role) && !HasPermission(admin, "api_keys:admin")) {
      co_return Status(Code::kPermissionDenied, "revoking API keys needs the admin role or api_keys:admin");
    }
    if (!sql_.key_revoke.available) co_return Status(Code::kFailedPrecondition, "the app maps no API key table");
    // The arguments are built before the co_await: GCC 12 destroys a conditional's temporary
    // twice inside a co_await expression.
    std::vector<std::string> args = Args(std::string(key_id), platform ? std::string() : admin.tenant_id);
    auto out = co_await Run(sql_.key_revoke, args, db::BatchMode::kWrite);
    if (!out.ok()) co_return out.status();
    if (out->rows.empty()) co_return Status(Code::kNotFound, "no active API key " + std::string(key_id));
    const std::string lookup = Str(out->rows[0][0]);
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys_.Erase(lookup);
    }
    if (sqlite_) (void)co_await db_.Notify(std::string(kNotifyChannel), "key:" + lookup);
    co_return Status::Ok();
  }

  asio::awaitable<Status> FlushLastUsed() override {
    std::unordered_map<std::string, SysClock::time_point> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(pending_used_);
    }
    if (batch.empty() || !sql_.key_touch.available) co_return Status::Ok();
    std::vector<std::string> ids;
    SysClock::time_point latest{};
    for (const auto& [id, at] : batch) {
      ids.push_back(id);
      latest = std::max(latest, at);
    }
    auto out = co_await Run(sql_.key_touch, Args(internal::StringArrayJson(ids), internal::FormatTimestamp(latest)),
                            db::BatchMode::kWrite);
    if (!out.ok()) co_return out.status();
    stats_.last_used_writes++;
    co_return Status::Ok();
  }

  // ---- passwords and sessions ---------------------------------------------------------------

  asio::awaitable<Result<LoginResult>> Login(LoginRequest req, data::RequestInfo info) override {
    if (!sql_.login_lookup.available || !sql_.session_create.available) {
      co_return Status(Code::kFailedPrecondition, "password login is not configured ([auth.users] password, [auth.sessions])");
    }
    const std::string login_key = ToLower(req.login);
    auto found = co_await Run(sql_.login_lookup, Args(req.login, req.tenant_id), db::BatchMode::kRead);
    if (!found.ok()) co_return found.status();
    if (found->rows.size() != 1) {
      // Unknown (or ambiguous across tenants): the same work and the same answer as a wrong password.
      auto d = co_await pool_.DummyVerify(std::move(req.password));
      if (!d.ok()) co_return d.status();
      RecordFailure(login_key, found->rows.empty() ? LoginFailure::kUnknownUser : LoginFailure::kAmbiguous);
      co_return Status(Code::kUnauthenticated, std::string(kInvalidLogin));
    }
    const db::Row& u = found->rows[0];
    const std::string user_id = Str(u[0]);
    const std::string tenant_id = Str(u[1]);
    const std::string stored = Str(u[2]);
    const bool active = internal::ParseBool(u[3]);
    const bool locked = internal::ParseBool(u[4]);
    auto check = co_await pool_.Check(std::string(req.password), stored);
    if (!check.ok() && check.status().code() == Code::kUnavailable) co_return check.status();
    const bool match = check.ok() && check->match;
    if (locked || !active) {
      RecordFailure(login_key, locked ? LoginFailure::kLocked : LoginFailure::kInactive);
      co_return Status(Code::kUnauthenticated, std::string(kInvalidLogin));
    }
    if (!match) {
      LoginFailure why = LoginFailure::kWrongPassword;
      if (sql_.login_failed.available) {
        auto f = co_await Run(sql_.login_failed, Args(user_id, std::to_string(config_.users.lockout_after)), db::BatchMode::kWrite);
        if (f.ok() && !f->rows.empty() && internal::ParseBool(f->rows[0][1])) why = LoginFailure::kLocked;
      }
      RecordFailure(login_key, why);
      co_return Status(Code::kUnauthenticated, std::string(kInvalidLogin));
    }
    const std::string new_hash = check->rehashed.value_or("");
    Tokens t = NewTokens();
    const std::string session_id = internal::NewUuid();
    const auto now = SysClock::now();
    const auto expires = now + opt_.refresh_ttl;
    db::Batch batch;
    batch.mode = db::BatchMode::kWrite;
    batch.statements.push_back(Stmt(sql_.login_succeeded, Args(user_id, stored, new_hash)));
    batch.statements.push_back(Stmt(sql_.session_create,
                                    {session_id, user_id, tenant_id, t.access_jti, t.refresh_jti, session_id,
                                     internal::FormatTimestamp(expires), req.device, info.ip, info.user_agent}));
    auto out = co_await db_.Run(std::move(batch), Deadline(info));
    if (!out.status.ok()) co_return out.status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      failures_.erase(login_key);
      access_.Erase(user_id);
    }
    auto access = co_await ResolveAccess(user_id);
    if (!access.ok()) co_return access.status();
    SessionRow s{user_id, tenant_id, t.access_jti, t.refresh_jti, session_id, expires, false};
    auto tokens = Sign(s, session_id, t, *access);
    if (!tokens.ok()) co_return tokens.status();
    LoginResult r;
    r.tokens = std::move(tokens).value();
    r.principal = PrincipalFor(s, session_id, *access);
    r.rehashed = !new_hash.empty() && !out.results[0].rows.empty() && internal::ParseBool(out.results[0].rows[0][1]);
    co_return r;
  }

  asio::awaitable<Result<TokenPair>> Refresh(std::string_view refresh_token, data::RequestInfo info) override {
    if (!sql_.session_rotate.available) co_return Status(Code::kFailedPrecondition, "sessions are not configured");
    auto claims = jwt_.Verify(refresh_token, crypto::TokenType::kRefresh);
    if (!claims.ok() || claims->session_id.empty()) co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    const std::string sid = claims->session_id;
    Tokens t = NewTokens();
    auto rotated = co_await Run(sql_.session_rotate, Args(sid, claims->jti, t.access_jti, t.refresh_jti), db::BatchMode::kWrite);
    if (!rotated.ok()) co_return rotated.status();
    if (rotated->rows.empty()) {
      // Not the session's current refresh token: a used one presented again means it was
      // stolen (or replayed): revoke the whole family.
      auto s = co_await Run(sql_.session_get, Args(sid), db::BatchMode::kRead);
      if (s.ok() && !s->rows.empty()) {
        SessionRow row = ParseSession(s->rows[0]);
        if (!row.revoked && row.refresh_jti != claims->jti) (void)co_await RevokeFamily(row.family);
      }
      co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    }
    InvalidateSession(sid);
    auto s = co_await GetSession(sid);
    if (!s.ok()) co_return s.status();
    if (!*s) co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    auto access = co_await ResolveAccess((*s)->user_id);
    if (!access.ok()) co_return access.status();
    co_return Sign(**s, sid, t, *access);
  }

  asio::awaitable<Result<data::Principal>> AuthenticateAccessToken(std::string_view token) override {
    auto claims = jwt_.Verify(token, crypto::TokenType::kAccess);
    if (!claims.ok() || claims->session_id.empty()) co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    auto s = co_await GetSession(claims->session_id);
    if (!s.ok()) co_return s.status();
    if (!*s) co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    const SessionRow& row = **s;
    if (row.revoked || row.expires_at <= SysClock::now() || row.access_jti != claims->jti || row.user_id != claims->subject) {
      co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    }
    auto access = co_await ResolveAccess(row.user_id);
    if (!access.ok()) co_return access.status();
    if (!access->active) co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    co_return PrincipalFor(row, claims->session_id, *access);
  }

  asio::awaitable<Status> Logout(std::string_view access_token) override {
    auto claims = jwt_.Verify(access_token, crypto::TokenType::kAccess);
    if (!claims.ok() || claims->session_id.empty()) co_return Status(Code::kUnauthenticated, std::string(kInvalidToken));
    auto out = co_await Run(sql_.session_revoke, Args(claims->session_id), db::BatchMode::kWrite);
    if (!out.ok()) co_return out.status();
    InvalidateSession(claims->session_id);
    if (sqlite_) (void)co_await db_.Notify(std::string(kNotifyChannel), "session:" + claims->session_id);
    co_return Status::Ok();
  }

  asio::awaitable<Status> RevokeSession(const data::Principal& admin, std::string_view session_id, bool whole_family) override {
    if (admin.kind != data::Principal::Kind::kSystem && !HasRole(admin, opt_.admin_role) && !HasPermission(admin, "sessions:admin")) {
      co_return Status(Code::kPermissionDenied, "revoking sessions needs the admin role or sessions:admin");
    }
    if (!sql_.session_revoke.available) co_return Status(Code::kFailedPrecondition, "sessions are not configured");
    auto s = co_await Run(sql_.session_get, Args(std::string(session_id)), db::BatchMode::kRead);
    if (!s.ok()) co_return s.status();
    if (s->rows.empty()) co_return Status(Code::kNotFound, "no session " + std::string(session_id));
    SessionRow row = ParseSession(s->rows[0]);
    if (admin.kind != data::Principal::Kind::kSystem && !admin.tenant_id.empty() && row.tenant_id != admin.tenant_id) {
      co_return Status(Code::kNotFound, "no session " + std::string(session_id));
    }
    if (whole_family) co_return co_await RevokeFamily(row.family);
    auto out = co_await Run(sql_.session_revoke, Args(std::string(session_id)), db::BatchMode::kWrite);
    if (!out.ok()) co_return out.status();
    InvalidateSession(std::string(session_id));
    if (sqlite_) (void)co_await db_.Notify(std::string(kNotifyChannel), "session:" + std::string(session_id));
    co_return Status::Ok();
  }

  Result<LoginFailure> AdminLoginStatus(const data::Principal& admin, std::string_view login) const override {
    if (admin.kind != data::Principal::Kind::kSystem && !HasRole(admin, opt_.admin_role) && !HasPermission(admin, "users:admin")) {
      return Status(Code::kPermissionDenied, "only an admin may see why a login failed");
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = failures_.find(ToLower(login));
    return it == failures_.end() ? LoginFailure::kNone : it->second;
  }

  // ---- roles and permissions ----------------------------------------------------------------

  asio::awaitable<Result<UserAccess>> ResolveAccess(std::string_view user_id) override {
    const std::string id(user_id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto hit = access_.Get(id, Clock::now())) co_return *hit;
    }
    stats_.role_lookups++;
    auto out = co_await Run(sql_.user_access, Args(id), db::BatchMode::kRead);
    if (!out.ok()) co_return out.status();
    UserAccess a;
    a.active = false;
    std::set<std::string> roles, perms;
    for (const auto& r : out->rows) {
      const std::string kind = Str(r[0]);
      const std::string value = Str(r[1]);
      if (kind == "tenant") a.tenant_id = value;
      if (kind == "active") a.active = internal::ParseBool(r[1]);
      if (kind == "role" && !value.empty()) roles.insert(value);
      if (kind == "perm" && !value.empty()) perms.insert(value);
    }
    a.roles.assign(roles.begin(), roles.end());
    a.permissions.assign(perms.begin(), perms.end());
    {
      std::lock_guard<std::mutex> lock(mu_);
      access_.Put(id, a, Clock::now() + (sqlite_ ? std::chrono::seconds(1) : opt_.roles_cache_ttl));
    }
    co_return a;
  }

  void InvalidateRoles() override {
    std::lock_guard<std::mutex> lock(mu_);
    access_.Clear();
  }

  AuthStats Stats() const override {
    AuthStats s;
    s.key_cache_hits = stats_.key_cache_hits;
    s.key_cache_misses = stats_.key_cache_misses;
    s.key_lookups = stats_.key_lookups;
    s.notifications = stats_.notifications;
    s.flushes = stats_.flushes;
    s.last_used_writes = stats_.last_used_writes;
    s.session_lookups = stats_.session_lookups;
    s.role_lookups = stats_.role_lookups;
    return s;
  }

 private:
  struct Tokens {
    std::string access_jti, refresh_jti;
  };
  struct FlushState {
    std::unique_ptr<asio::steady_timer> timer;
    std::atomic<bool> stopping{false};
    std::atomic<bool> running{false};
  };
  struct Counters {
    std::atomic<uint64_t> key_cache_hits{0}, key_cache_misses{0}, key_lookups{0}, notifications{0}, flushes{0},
        last_used_writes{0}, session_lookups{0}, role_lookups{0};
  };

  static db::Stmt Stmt(const AuthOp& op, const std::vector<std::string>& logical) {
    db::Stmt s;
    s.sql = op.call;
    for (int n : op.used) {
      s.params.push_back(n >= 1 && static_cast<size_t>(n) <= logical.size() ? std::optional<std::string>(logical[n - 1])
                                                                              : std::optional<std::string>(std::string()));
    }
    return s;
  }

  static db::Clock::time_point Deadline(const data::RequestInfo& info) {
    return std::min(info.deadline, db::Clock::now() + kStatementDeadline);
  }

  asio::awaitable<Result<db::StmtResult>> Run(const AuthOp& op, const std::vector<std::string>& logical, db::BatchMode mode) {
    if (!op.available) co_return Status(Code::kFailedPrecondition, "the [auth] mapping does not support " + op.name);
    db::Batch batch;
    batch.mode = mode;
    batch.statements.push_back(Stmt(op, logical));
    auto out = co_await db_.Run(std::move(batch), db::Clock::now() + kStatementDeadline);
    if (!out.status.ok()) co_return out.status.WithContext("auth " + op.name);
    co_return std::move(out.results.back());
  }

  asio::awaitable<Result<std::optional<KeyRow>>> LookupKey(const std::string& lookup) {
    const auto now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto hit = keys_.Get(lookup, now)) {
        stats_.key_cache_hits++;
        co_return *hit;
      }
    }
    stats_.key_cache_misses++;
    stats_.key_lookups++;
    auto out = co_await Run(sql_.key_lookup, Args(lookup), db::BatchMode::kRead);
    if (!out.ok()) co_return out.status();
    std::optional<KeyRow> row;
    if (out->rows.size() == 1) {
      const db::Row& r = out->rows[0];
      KeyRow k;
      k.id = Str(r[0]);
      k.tenant_id = Str(r[1]);
      k.user_id = Str(r[2]);
      k.hash = Str(r[3]);
      auto scopes = internal::ParseStringArray(r[4]);
      if (scopes.ok()) k.scopes = *scopes;
      if (r[5]) k.expires_at = internal::ParseTimestamp(*r[5]);
      k.revoked = internal::ParseBool(r[6]);
      auto ips = internal::ParseStringArray(r[7]);
      bool ips_ok = ips.ok();
      if (ips_ok) {
        for (const auto& ip : *ips) {
          auto c = Cidr::Parse(ip);
          if (!c.ok()) {
            ips_ok = false;
            break;
          }
          k.allowed.push_back(*c);
        }
      }
      // A malformed allow-list allows nothing (fail closed): an impossible network.
      if (!ips_ok) k.allowed = {Cidr{true, {}, 128}}, k.allowed[0].addr.fill(0xff);
      if (r[8] && !r[8]->empty()) k.rate_limit = std::stoll(*r[8]);
      k.user_active = internal::ParseBool(r[9]);
      row = std::move(k);
    }
    const auto ttl = row ? (sqlite_ ? std::chrono::duration_cast<Clock::duration>(opt_.sqlite_cache_ttl)
                                    : std::chrono::duration_cast<Clock::duration>(opt_.key_cache_ttl))
                         : std::chrono::duration_cast<Clock::duration>(opt_.negative_cache_ttl);
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys_.Put(lookup, row, Clock::now() + ttl);
    }
    co_return row;
  }

  static SessionRow ParseSession(const db::Row& r) {
    SessionRow s;
    s.user_id = Str(r[0]);
    s.tenant_id = Str(r[1]);
    s.access_jti = Str(r[2]);
    s.refresh_jti = Str(r[3]);
    s.family = Str(r[4]);
    s.expires_at = internal::ParseTimestamp(Str(r[5])).value_or(SysClock::time_point{});
    s.revoked = internal::ParseBool(r[6]);
    return s;
  }

  asio::awaitable<Result<std::optional<SessionRow>>> GetSession(const std::string& sid) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto hit = sessions_.Get(sid, Clock::now())) co_return *hit;
    }
    stats_.session_lookups++;
    auto out = co_await Run(sql_.session_get, Args(sid), db::BatchMode::kRead);
    if (!out.ok()) co_return out.status();
    std::optional<SessionRow> row;
    if (!out->rows.empty()) row = ParseSession(out->rows[0]);
    const auto ttl = sqlite_ ? std::chrono::duration_cast<Clock::duration>(opt_.sqlite_cache_ttl)
                             : std::chrono::duration_cast<Clock::duration>(opt_.session_cache_ttl);
    {
      std::lock_guard<std::mutex> lock(mu_);
      sessions_.Put(sid, row, Clock::now() + ttl);
    }
    co_return row;
  }

  void InvalidateSession(const std::string& sid) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.Erase(sid);
  }

  asio::awaitable<Status> RevokeFamily(const std::string& family) {
    auto out = co_await Run(sql_.session_revoke_family, Args(family), db::BatchMode::kWrite);
    if (!out.ok()) co_return out.status();
    {
      std::lock_guard<std::mutex> lock(mu_);
      sessions_.EraseIf([&](const std::optional<SessionRow>& s) { return s && s->family == family; });
    }
    if (sqlite_) (void)co_await db_.Notify(std::string(kNotifyChannel), "family:" + family);
    co_return Status::Ok();
  }

  Tokens NewTokens() const { return {crypto::RandomTokenId(), crypto::RandomTokenId()}; }

  Result<TokenPair> Sign(const SessionRow& s, const std::string& sid, const Tokens& t, const UserAccess& access) const {
    const auto now = std::chrono::floor<std::chrono::seconds>(SysClock::now());
    crypto::JwtClaims c;
    c.subject = s.user_id;
    c.tenant_id = s.tenant_id;
    c.session_id = sid;
    c.roles = access.roles;
    c.issued_at = now;
    c.jti = t.access_jti;
    c.expires_at = now + opt_.access_ttl;
    TokenPair out;
    out.session_id = sid;
    PLINTH_ASSIGN_OR_RETURN(out.access_token, jwt_.Sign(c, crypto::TokenType::kAccess));
    out.access_expires_at = c.expires_at;
    c.jti = t.refresh_jti;
    c.roles.clear();
    c.expires_at = std::min(now + opt_.refresh_ttl, std::chrono::floor<std::chrono::seconds>(s.expires_at));
    if (c.expires_at <= now) c.expires_at = now + std::chrono::seconds(1);
    PLINTH_ASSIGN_OR_RETURN(out.refresh_token, jwt_.Sign(c, crypto::TokenType::kRefresh));
    out.refresh_expires_at = c.expires_at;
    return out;
  }

  data::Principal PrincipalFor(const SessionRow& s, const std::string& sid, const UserAccess& a) const {
    data::Principal p;
    p.kind = data::Principal::Kind::kUser;
    p.tenant_id = s.tenant_id.empty() ? a.tenant_id : s.tenant_id;
    p.user_id = s.user_id;
    p.roles = a.roles;
    p.role = a.roles.empty() ? "" : a.roles.front();
    p.permissions = a.permissions;
    p.credential_id = sid;
    return p;
  }

  void RecordFailure(const std::string& login, LoginFailure why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_.size() >= kMaxFailureRecords) failures_.clear();
    failures_[login] = why;
  }

  void OnNotification(const std::string& payload) {
    stats_.notifications++;
    std::lock_guard<std::mutex> lock(mu_);
    auto starts = [&](std::string_view p) { return payload.rfind(p, 0) == 0; };
    if (payload.empty()) {
      // The listener reconnected: anything may have been missed.
      stats_.flushes++;
      keys_.Clear();
      sessions_.Clear();
      access_.Clear();
    } else if (starts("key:")) {
      keys_.Erase(payload.substr(4));
    } else if (starts("session:")) {
      sessions_.Erase(payload.substr(8));
    } else if (starts("family:")) {
      const std::string f = payload.substr(7);
      sessions_.EraseIf([&](const std::optional<SessionRow>& s) { return s && s->family == f; });
    } else if (starts("user:")) {
      const std::string u = payload.substr(5);
      access_.Erase(u);
      sessions_.EraseIf([&](const std::optional<SessionRow>& s) { return s && s->user_id == u; });
      keys_.EraseIf([&](const std::optional<KeyRow>& k) { return k && k->user_id == u; });
    } else if (payload == "roles") {
      access_.Clear();
    }
  }

  static asio::awaitable<void> FlushLoop(AuthenticatorImpl* self, std::shared_ptr<FlushState> st) {
    while (!st->stopping) {
      st->timer->expires_after(self->opt_.last_used_flush);
      boost::system::error_code ec;
      co_await st->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (st->stopping) break;
      (void)co_await self->FlushLastUsed();
    }
    st->running = false;
  }

  AuthConfig config_;
  db::Database& db_;
  crypto::HashPool& pool_;
  crypto::ApiKeyHasher hasher_;
  crypto::JwtCodec jwt_;
  AuthOptions opt_;
  internal::AuthSql sql_;
  const bool sqlite_;

  mutable std::mutex mu_;
  Lru<std::optional<KeyRow>> keys_;          // guarded by mu_
  Lru<std::optional<SessionRow>> sessions_;  // guarded by mu_
  Lru<UserAccess> access_;                   // guarded by mu_
  std::unordered_map<std::string, SysClock::time_point> pending_used_;  // guarded by mu_
  std::unordered_map<std::string, LoginFailure> failures_;              // guarded by mu_
  Counters stats_;
  std::shared_ptr<FlushState> state_;
};

}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const schema::Schema& schema, AuthConfig config, db::Database& db,
                                                             crypto::HashPool& pool, crypto::ApiKeyHasher hasher,
                                                             crypto::JwtCodec jwt, AuthOptions options) {
  if (!config.present) {
    return Status(Code::kFailedPrecondition, "the schema has no [auth] section: map the users (and key/session) tables");
  }
  if (options.access_ttl <= std::chrono::seconds(0) || options.refresh_ttl <= options.access_ttl) {
    return Status(Code::kInvalidArgument, "access_ttl must be positive and shorter than refresh_ttl");
  }
  return std::unique_ptr<Authenticator>(
      new AuthenticatorImpl(schema, std::move(config), db, pool, std::move(hasher), std::move(jwt), std::move(options)));
}

}  // namespace plinth::auth
