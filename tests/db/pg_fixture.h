// tests/db/pg_fixture.h — a throwaway PostgreSQL database per test, on the cluster whose
// superuser URL is in $PLINTH_TEST_PG_URL. Used by the *_pgtest.cc of several layers.
//
// Thread-safety: one TestDatabase per test; creation and drop use their own connections.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "plinth/db.h"

namespace plinth::testing {

// The cluster's superuser URL; fails the current test when the variable is missing.
inline std::string AdminPgUrl() {
  const char* url = std::getenv("PLINTH_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "PLINTH_TEST_PG_URL is not set: start a throwaway cluster with "
                     "scripts/pg.sh start DIR PORT and export the URL it prints";
    return {};
  }
  return url;
}

// The same URI with another database name: postgresql://user@host:port/NAME?params.
inline std::string PgUrlWithDatabase(const std::string& uri, const std::string& name) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t path = uri.find_first_of("/?", scheme + 3);
  if (path == std::string::npos) return uri + "/" + name;
  size_t query = uri.find('?', path);
  std::string rest = query == std::string::npos ? "" : uri.substr(query);
  return uri.substr(0, path) + "/" + name + rest;
}

inline std::string UniqueDatabaseName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 1000000);
}

// Creates a database with a unique name in the constructor and drops it (forcibly) in the
// destructor. url() is its superuser URL.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& prefix = "plinth_test") {
    admin_url_ = AdminPgUrl();
    if (admin_url_.empty()) return;
    name_ = UniqueDatabaseName(prefix);
    auto admin = Admin();
    if (!admin) return;
    Status st = admin->Exec("CREATE DATABASE " + db::QuoteIdent(name_));
    if (!st.ok()) {
      ADD_FAILURE() << "CREATE DATABASE " << name_ << ": " << st.ToString();
      name_.clear();
      return;
    }
    url_ = PgUrlWithDatabase(admin_url_, name_);
  }
  ~TestDatabase() {
    if (name_.empty()) return;
    auto admin = Admin();
    if (!admin) return;
    Status st = admin->Exec("DROP DATABASE IF EXISTS " + db::QuoteIdent(name_) + " WITH (FORCE)");
    if (!st.ok()) ADD_FAILURE() << "DROP DATABASE " << name_ << ": " << st.ToString();
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

  // A new connection to the test database.
  std::unique_ptr<db::Connection> Connect() const {
    auto url = db::ParseUrl(url_);
    if (!url.ok()) {
      ADD_FAILURE() << url.status().ToString();
      return nullptr;
    }
    auto conn = db::Connect(*url);
    if (!conn.ok()) {
      ADD_FAILURE() << conn.status().ToString();
      return nullptr;
    }
    return std::move(conn).value();
  }

 private:
  std::unique_ptr<db::Connection> Admin() const {
    auto url = db::ParseUrl(admin_url_);
    if (!url.ok()) {
      ADD_FAILURE() << "PLINTH_TEST_PG_URL: " << url.status().ToString();
      return nullptr;
    }
    auto conn = db::Connect(*url);
    if (!conn.ok()) {
      ADD_FAILURE() << "cannot connect to PLINTH_TEST_PG_URL: " << conn.status().ToString();
      return nullptr;
    }
    return std::move(conn).value();
  }

  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace plinth::testing
