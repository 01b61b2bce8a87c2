// tests/data/harness.h — a migrated database with a data::Runtime on it, for the data layer's
// tests on either backend: schema loading, migration (the same migrate::Diff + runner::Up path
// `plinth migrate up` takes), running coroutines from a test, principals, and readable
// transcripts of results.
//
// Thread-safety: one Env per test; its io_context runs on one background thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "db/temp_dir.h"
#include "plinth/data.h"
#include "plinth/database.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

namespace plinth::testing {

namespace asio = boost::asio;

inline std::string ReadSchemaFile(const std::string& name) {
  std::string text;
  const std::string path = std::string(PLINTH_SOURCE_DIR) + "/tests/data/schemas/" + name;
  if (!ReadFile(path, text)) ADD_FAILURE() << "cannot read " << path;
  return text;
}

// An example app's own schema (examples/<app>/schema.toml), policies as the app declares them.
inline std::string ReadExampleSchema(const std::string& app) {
  std::string text;
  const std::string path = std::string(PLINTH_SOURCE_DIR) + "/examples/" + app + "/schema.toml";
  if (!ReadFile(path, text)) ADD_FAILURE() << "cannot read " << path;
  return text;
}

inline Result<schema::Schema> LoadSchema(const std::string& text) {
  Diagnostics diags;
  auto s = schema::LoadSchemaText(text, "schema.toml", diags);
  if (!s.ok()) return Status(Code::kInvalidArgument, s.status().message() + "\n" + diags.ToString());
  return s;
}

// The first migration of `s` (from nothing), as `plinth migrate diff` writes it.
inline Result<migrate::Migration> InitialMigration(const schema::Schema& s) {
  PLINTH_ASSIGN_OR_RETURN(migrate::DiffResult d, migrate::Diff(schema::Schema{}, s, migrate::DiffOptions{}));
  migrate::Migration m;
  m.version = "0001";
  m.name = "initial";
  m.created_at = "2026-01-01T00:00:00Z";
  m.up = std::move(d.up);
  m.down = std::move(d.down);
  Diagnostics diags;
  return migrate::ParseMigration(migrate::ToFileText(m), "0001_initial.json", diags);
}

inline Status Migrate(const std::string& url_text, const schema::Schema& s) {
  PLINTH_ASSIGN_OR_RETURN(db::Url url, db::ParseUrl(url_text));
  PLINTH_ASSIGN_OR_RETURN(migrate::Migration m, InitialMigration(s));
  runner::RunOptions opts;
  PLINTH_ASSIGN_OR_RETURN(runner::RunReport report, runner::Up(url, {m}, "head", opts));
  (void)report;
  return Status::Ok();
}

// A test-only FieldCipher: AES-256-GCM (OpenSSL) with a fixed key, random 12-byte nonce,
// blob = nonce || ciphertext || tag. The production cipher sits on the crypto layer's keyring.
class TestCipher : public data::FieldCipher {
 public:
  static constexpr int kNonce = 12, kTag = 16, kKey = 32;
  explicit TestCipher(unsigned char key_byte = 0x42) { std::memset(key_, key_byte, sizeof key_); }

  Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const override {
    unsigned char nonce[kNonce];
    if (RAND_bytes(nonce, kNonce) != 1) return Status(Code::kInternal, "RAND_bytes");
    std::string out(reinterpret_cast<char*>(nonce), kNonce);
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    int len = 0;
    std::string ct(plaintext.size(), '\0');
    bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, nonce) == 1 &&
              EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                                static_cast<int>(aad.size())) == 1 &&
              EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(ct.data()), &len,
                                reinterpret_cast<const unsigned char*>(plaintext.data()),
                                static_cast<int>(plaintext.size())) == 1 &&
              EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) == 1;
    unsigned char tag[kTag];
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag) == 1;
    if (!ok) return Status(Code::kInternal, "encryption failed");
    return out + ct + std::string(reinterpret_cast<char*>(tag), kTag);
  }

  Result<std::string> Decrypt(std::string_view blob, std::string_view aad) const override {
    if (blob.size() < static_cast<size_t>(kNonce + kTag)) return Status(Code::kDataLoss, "ciphertext too short");
    const auto* nonce = reinterpret_cast<const unsigned char*>(blob.data());
    std::string_view ct = blob.substr(kNonce, blob.size() - kNonce - kTag);
    unsigned char tag[kTag];
    std::memcpy(tag, blob.data() + blob.size() - kTag, kTag);
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    int len = 0;
    std::string pt(ct.size(), '\0');
    bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, nonce) == 1 &&
              EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                                static_cast<int>(aad.size())) == 1 &&
              EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(pt.data()), &len,
                                reinterpret_cast<const unsigned char*>(ct.data()), static_cast<int>(ct.size())) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) == 1 &&
              EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) == 1;
    if (!ok) return Status(Code::kDataLoss, "authentication failed");
    return pt;
  }

 private:
  unsigned char key_[kKey];
};

template <typename T>
asio::awaitable<void> Deliver(asio::awaitable<T> a, std::promise<T>* done) {
  done->set_value(co_await std::move(a));
}

// Runs coroutines for a test on a background io_context thread.
class Loop {
 public:
  Loop() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Loop() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }
  template <typename T>
  T Run(asio::awaitable<T> a) {
    std::promise<T> done;
    std::future<T> result = done.get_future();
    asio::co_spawn(io_, Deliver(std::move(a), &done), [&done](std::exception_ptr e) {
      if (e) done.set_exception(e);
    });
    return result.get();
  }
  void Run(asio::awaitable<void> a) {
    std::promise<void> done;
    std::future<void> result = done.get_future();
    asio::co_spawn(io_, std::move(a), [&done](std::exception_ptr e) {
      if (e) done.set_exception(e);
      else done.set_value();
    });
    result.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

struct EnvOptions {
  data::ContextStrategy context = data::ContextStrategy::kSetConfig;
  db::PoolOptions pool;
  bool check_roles = true;
  bool with_admin = true;
  // Replaces the schema the runtime compiles (the database keeps the migrated one): SQLite
  // policy mutants.
  std::function<void(schema::Schema&)> mutate_runtime_schema;
  // Wraps the database the runtime runs on (SQLite): a decorator that watches the batches.
  std::function<std::unique_ptr<db::Database>(std::unique_ptr<db::Database>)> wrap_database;
};

// A migrated database and a Runtime on it.
class Env {
 public:
  virtual ~Env() = default;
  virtual std::string backend() const = 0;
  data::Runtime& rt() { return *rt_; }
  Loop& loop() { return loop_; }
  const schema::Schema& schema() const { return schema_; }
  bool ok() const { return rt_ != nullptr; }
  // Runs SQL on the database as its administrator (superuser on PostgreSQL), outside any
  // policy. For test setup and inspection only.
  virtual Result<db::QueryResult> AdminQuery(const std::string& sql, const db::Params& params = {}) = 0;

  template <typename T>
  T Run(asio::awaitable<T> a) {
    return loop_.Run(std::move(a));
  }
  void Run(asio::awaitable<void> a) { loop_.Run(std::move(a)); }

 protected:
  Loop loop_;
  schema::Schema schema_;
  TestCipher cipher_;
  std::unique_ptr<data::Runtime> rt_;
};

class SqliteEnv : public Env {
 public:
  SqliteEnv(const std::string& schema_text, const EnvOptions& o) {
    auto s = LoadSchema(schema_text);
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString();
      return;
    }
    schema_ = std::move(s).value();
    url_ = "sqlite://" + dir_ / "data.db";
    Status st = Migrate(url_, schema_);
    if (!st.ok()) {
      ADD_FAILURE() << "migrate: " << st.ToString();
      return;
    }
    auto url = db::ParseUrl(url_);
    auto database = db::OpenDatabase(loop_.io(), *url, o.pool);
    if (!database.ok()) {
      ADD_FAILURE() << database.status().ToString();
      return;
    }
    data::RuntimeOptions ro;
    ro.cipher = &cipher_;
    ro.context = o.context;
    schema::Schema runtime_schema = schema_;
    if (o.mutate_runtime_schema) o.mutate_runtime_schema(runtime_schema);
    std::unique_ptr<db::Database> runtime_db = std::move(database).value();
    if (o.wrap_database) runtime_db = o.wrap_database(std::move(runtime_db));
    auto rt = Run(data::Runtime::Open(runtime_schema, std::move(runtime_db), std::move(ro), "0001"));
    if (!rt.ok()) {
      ADD_FAILURE() << "open: " << rt.status().ToString();
      return;
    }
    rt_ = std::move(rt).value();
  }
  ~SqliteEnv() override {
    if (rt_) Run(rt_->database().Close(db::Clock::now() + std::chrono::seconds(5)));
    rt_.reset();
  }
  std::string backend() const override { return "sqlite"; }
  Result<db::QueryResult> AdminQuery(const std::string& sql, const db::Params& params = {}) override {
    PLINTH_ASSIGN_OR_RETURN(db::Url url, db::ParseUrl(url_));
    PLINTH_ASSIGN_OR_RETURN(auto conn, db::Connect(url));
    return conn->Query(sql, params);
  }

 private:
  TempDir dir_;
  std::string url_;
};

// ---- Principals and fixed ids (identical on both backends, so transcripts compare) ----------

inline std::string Uuid(int tenant, int kind, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%04x%08x", tenant, kind, n);
  return buf;
}

inline data::Principal User(const std::string& tenant, const std::string& user,
                            std::vector<std::string> roles = {}, std::vector<std::string> permissions = {}) {
  data::Principal p;
  p.kind = data::Principal::Kind::kUser;
  p.tenant_id = tenant;
  p.user_id = user;
  p.role = roles.empty() ? "member" : roles.front();
  p.roles = std::move(roles);
  p.permissions = std::move(permissions);
  p.credential_id = "session-" + user.substr(0, 8);
  return p;
}

inline data::RequestInfo Req(const std::string& id = "req-1") {
  data::RequestInfo r;
  r.request_id = id;
  r.ip = "127.0.0.1";
  r.user_agent = "plinth-test";
  r.deadline = db::Clock::now() + std::chrono::seconds(30);
  return r;
}

// "col=value,…" per row, skipping the columns the database fills with the time.
inline std::string Show(const data::RowSet& rs) {
  std::string out;
  for (const auto& row : rs.rows) {
    out += "{";
    bool first = true;
    for (size_t i = 0; i < rs.columns.size(); ++i) {
      const std::string& name = rs.columns[i]->name;
      if (name == "created_at" || name == "updated_at") continue;
      if (!first) out += ",";
      first = false;
      out += name + "=" + (row[i] ? *row[i] : std::string("NULL"));
    }
    out += "}";
  }
  return out;
}

inline std::string ShowStatus(const Status& st) {
  if (st.ok()) return "ok";
  std::string out(CodeName(st.code()));
  if (!st.object().empty()) out += "(" + st.object() + ")";
  // PLINTH_TEST_VERBOSE=1 shows the messages (they differ in wording between the databases).
  if (std::getenv("PLINTH_TEST_VERBOSE") != nullptr) out += " <" + st.message() + ">";
  return out;
}

template <typename T>
std::string ShowResult(const Result<T>& r) {
  if (!r.ok()) return ShowStatus(r.status());
  if constexpr (std::is_same_v<T, data::RowSet>) return "ok " + Show(*r);
  else if constexpr (std::is_same_v<T, data::ListResult>) {
    return "ok " + Show(r->rows) + (r->total ? " total=" + std::to_string(*r->total) : std::string());
  } else {
    return "ok";
  }
}

}  // namespace plinth::testing
