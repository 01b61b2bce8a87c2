// The example apps' policies on SQLite (tests/data/apps.h), and the runtime's batches as the
// database receives them.
#include <gtest/gtest.h>

#include "data/apps.h"

namespace plinth::testing {
namespace {

class SqliteApps : public ::testing::TestWithParam<AppCase> {};

TEST_P(SqliteApps, BehaveAsTheirUsersExpect) {
  SqliteEnv env(ReadExampleSchema(GetParam().app), EnvOptions{});
  ASSERT_TRUE(env.ok());
  Checker c = RunAppCase(env, GetParam());
  EXPECT_TRUE(c.violations.empty()) << Lines(c.violations);
}

INSTANTIATE_TEST_SUITE_P(Examples, SqliteApps, ::testing::ValuesIn(AppCases()),
                         [](const ::testing::TestParamInfo<AppCase>& i) { return i.param.name; });

TEST(SqliteHealth, ReportsBackendPoolAndMigrationVersion) {
  SqliteEnv env(ReadSchemaFile("isolation.toml"), EnvOptions{});
  ASSERT_TRUE(env.ok());
  data::Health h = env.Run(env.rt().CheckHealth(db::Clock::now() + std::chrono::seconds(5)));
  EXPECT_TRUE(h.ping.connected) << h.ping.status.ToString();
  EXPECT_EQ(h.backend, "sqlite");
  EXPECT_EQ(h.migration_version, "0001");
  EXPECT_TRUE(h.migrations_at_head);
}

// Passes every call to the real database and notes, per batch, whether it may share a
// connection (db::Batch::shareable; PostgreSQL acts on it, the runtime sets it on both).
class ShareWatcher final : public db::Database {
 public:
  ShareWatcher(std::unique_ptr<db::Database> inner, std::shared_ptr<std::vector<bool>> seen)
      : inner_(std::move(inner)), seen_(std::move(seen)) {}
  db::Backend backend() const override { return inner_->backend(); }
  const db::Url& url() const override { return inner_->url(); }
  asio::awaitable<db::BatchOutcome> Run(db::Batch batch, db::Clock::time_point deadline) override {
    if (batch.mode == db::BatchMode::kRead) seen_->push_back(batch.shareable);
    co_return co_await inner_->Run(std::move(batch), deadline);
  }
  asio::awaitable<Result<std::unique_ptr<db::Transaction>>> Begin(db::BatchMode mode, db::Clock::time_point deadline) override {
    return inner_->Begin(mode, deadline);
  }
  asio::awaitable<db::Ping> Check(db::Clock::time_point deadline) override { return inner_->Check(deadline); }
  db::PoolStats Stats() const override { return inner_->Stats(); }
  void Listen(const std::string& channel, std::function<void(const std::string&)> cb) override {
    inner_->Listen(channel, std::move(cb));
  }
  asio::awaitable<Status> Notify(const std::string& channel, const std::string& payload) override {
    return inner_->Notify(channel, payload);
  }
  asio::awaitable<void> Close(db::Clock::time_point deadline) override { return inner_->Close(deadline); }

 private:
  std::unique_ptr<db::Database> inner_;
  std::shared_ptr<std::vector<bool>> seen_;
};

TEST(RuntimeBatches, ListsWhoseCostGrowsWithTheTableDoNotShareAConnection) {
  auto seen = std::make_shared<std::vector<bool>>();
  EnvOptions o;
  o.wrap_database = [seen](std::unique_ptr<db::Database> inner) -> std::unique_ptr<db::Database> {
    return std::make_unique<ShareWatcher>(std::move(inner), seen);
  };
  SqliteEnv env(ReadSchemaFile("isolation.toml"), o);
  ASSERT_TRUE(env.ok());
  const data::Principal p = User(Uuid(1, 0, 0), Uuid(1, 1, 1));  // comments: no encrypted column, so reads are kRead
  auto list = [&](int64_t offset, bool count) {
    data::ListQuery q;
    q.limit = 5;
    q.offset = offset;
    q.count_exact = count;
    seen->clear();
    auto r = env.Run(env.rt().List(p, Req(), "comments", std::move(q)));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(seen->size(), 1u) << "one batch per list";
    return seen->empty() ? std::optional<bool>() : std::optional<bool>(seen->back());
  };
  EXPECT_EQ(list(0, false), std::optional<bool>(true)) << "a page by limit shares";
  EXPECT_EQ(list(0, true), std::optional<bool>(false)) << "an exact count reads every matching row";
  EXPECT_EQ(list(10, false), std::optional<bool>(false)) << "an offset skips that many rows";
  seen->clear();
  auto got = env.Run(env.rt().Get(p, Req(), "comments", Uuid(1, 3, 1)));
  EXPECT_TRUE(got.ok() || got.status().code() == Code::kNotFound) << got.status().ToString();
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_TRUE(seen->back()) << "a lookup by key shares";
}

TEST(SqliteOpen, RefusesADatabaseWithoutMigrationsAndASchemaWithoutCipher) {
  Loop loop;
  TempDir dir;
  auto url = db::ParseUrl("sqlite://" + dir / "empty.db");
  auto database = db::OpenDatabase(loop.io(), *url, db::PoolOptions{});
  ASSERT_TRUE(database.ok());
  auto s = LoadSchema(ReadSchemaFile("isolation.toml"));
  ASSERT_TRUE(s.ok());
  data::RuntimeOptions no_cipher;
  auto rt = loop.Run(data::Runtime::Open(*s, std::move(database).value(), std::move(no_cipher), "0001"));
  EXPECT_EQ(rt.status().code(), Code::kInvalidArgument);
  EXPECT_NE(rt.status().message().find("cipher"), std::string::npos);
  auto database2 = db::OpenDatabase(loop.io(), *url, db::PoolOptions{});
  ASSERT_TRUE(database2.ok());
  TestCipher cipher;
  data::RuntimeOptions o;
  o.cipher = &cipher;
  auto rt2 = loop.Run(data::Runtime::Open(*s, std::move(database2).value(), std::move(o), "0001"));
  EXPECT_EQ(rt2.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(rt2.status().message().find("migrate"), std::string::npos) << rt2.status().ToString();
}

}  // namespace
}  // namespace plinth::testing
