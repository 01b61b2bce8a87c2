// tests/db/pg_test_support.h — shared pieces of the request-path database's PostgreSQL tests:
// the host and port of a libpq URL, batches, and bounded polling.
//
// Thread-safety: plain helpers for the test thread.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "plinth/database.h"

namespace plinth::testing {

struct HostPort {
  std::string host = "127.0.0.1";
  uint16_t port = 5432;
};

// The (first) host and port of a libpq connection string or URI.
inline HostPort HostPortOf(const std::string& conninfo) {
  HostPort hp;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), nullptr);
  if (opts == nullptr) return hp;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    std::string k = o->keyword;
    if (k == "host" || k == "hostaddr") hp.host = o->val;
    if (k == "port") hp.port = static_cast<uint16_t>(std::stoi(o->val));
  }
  PQconninfoFree(opts);
  return hp;
}

inline db::Clock::time_point In(std::chrono::milliseconds ms) { return db::Clock::now() + ms; }

inline db::Batch MakeBatch(db::BatchMode mode, std::vector<db::Stmt> statements) {
  db::Batch b;
  b.mode = mode;
  b.statements = std::move(statements);
  return b;
}

// Polls `done` every few milliseconds until it holds or `limit` passes; false on timeout.
// For conditions the test cannot await (another backend's state in pg_stat_activity).
inline bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

}  // namespace plinth::testing
