// tests/api/serve_cases.h — `plinth serve` through real HTTP, the same cases on SQLite
// (serve_test.cc) and PostgreSQL (serve_pgtest.cc): every route, every filter operator, the
// validation errors, constraint conflicts, auth failures, cross-tenant requests through every
// route, rate limits, health, metrics, the OpenAPI document, and ENABLE_AUTH=false.
//
// Thread-safety: each test owns its ServeEnv.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <string>

#include "api/serve_fixture.h"

namespace plinth::testing {

using nlohmann::json;

class ServeCases : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<ServeEnv> Env(std::function<void(api::ServeConfig&)> configure = {}) {
    auto env = std::make_unique<ServeEnv>(GetParam(), std::move(configure));
    return env;
  }
};

// The problem+json body of an error response, checked for the RFC 9457 members.
inline json Problem(const TestResponse& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.body;
  json j = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.body;
  if (!j.is_object()) return json::object();
  EXPECT_EQ(j.value("status", 0), status);
  EXPECT_TRUE(j.contains("title"));
  EXPECT_TRUE(j.contains("type"));
  EXPECT_TRUE(j.contains("instance"));
  return j;
}

// Field names of a problem's `errors`.
inline std::set<std::string> ErrorFields(const json& problem) {
  std::set<std::string> out;
  if (problem.contains("errors")) {
    for (const auto& e : problem["errors"]) out.insert(e.value("field", std::string()));
  }
  return out;
}

inline std::vector<std::string> Titles(const TestResponse& r) {
  std::vector<std::string> out;
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("items")) {
    ADD_FAILURE() << "not a list: " << r.body;
    return out;
  }
  for (const auto& row : j["items"]) out.push_back(row.value("title", std::string()));
  std::sort(out.begin(), out.end());
  return out;
}

using Titles_ = std::vector<std::string>;

// The TEST_P cases are in serve_cases.cc (compiled once, instantiated by serve_test.cc
// with SQLite and serve_pgtest.cc with PostgreSQL).

}  // namespace plinth::testing
