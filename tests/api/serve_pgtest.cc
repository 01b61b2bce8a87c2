// `plinth serve` on PostgreSQL through real HTTP: the shared cases with the deployment's roles
// (the owner migrated, the server runs as the unprivileged runtime role), and the database
// going away (503 + Retry-After, never a hang; back to 200 when it returns).
#include "api/serve_cases.h"

namespace plinth::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Postgres, ServeCases, ::testing::Values("postgresql"));

TEST(ServePg, RefusesToServeAsAPrivilegedRole) {
  ServeEnv probe("postgresql");
  ASSERT_TRUE(probe.ok());
  api::ServeConfig c = probe.config();
  c.database_url = probe.admin_url();  // the superuser, on the app's database
  c.admin_database_url.clear();
  std::ostringstream out;
  auto srv = api::ApiServer::Create(c, out);
  ASSERT_FALSE(srv.ok());
  EXPECT_NE(srv.status().message().find("superuser"), std::string::npos) << srv.status().ToString();
}

TEST(ServePg, DatabaseDownIs503WithRetryAfterAndRecovers) {
  ServeEnv env("postgresql", [](api::ServeConfig& c) {
    c.request_timeout = std::chrono::seconds(3);
    c.pool.connect_timeout = std::chrono::milliseconds(500);
    c.pool.acquire_timeout = std::chrono::milliseconds(1000);
  });
  ASSERT_TRUE(env.ok());
  const std::string id = env.CreateDocument(env.key_a, R"({"title":"before"})");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(env.Get("/api/v1/documents/" + id, env.key_a).status, 200);
  env.proxy()->set_refuse(true);
  env.proxy()->DropAll();
  const auto start = std::chrono::steady_clock::now();
  TestResponse down = env.Get("/api/v1/documents/" + id, env.key_a);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4)) << "never a hang";
  json p = Problem(down, 503);
  EXPECT_FALSE(down.Header("retry-after").empty());
  TestResponse write = env.Post("/api/v1/documents", env.key_a, R"({"title":"while down"})");
  EXPECT_TRUE(write.status == 503 || write.status == 504) << write.status << " " << write.body;
  TestResponse ready = env.Get("/health/ready");
  Problem(ready, 503);
  TestResponse dbh = env.Get("/api/v1/system/health/database");
  EXPECT_EQ(dbh.status, 503);
  EXPECT_EQ(dbh.Json()["connected"], false);
  EXPECT_EQ(dbh.Json()["status"], "unhealthy");
  EXPECT_EQ(env.Get("/health/live").status, 200) << "the process is up";
  env.proxy()->set_refuse(false);
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = env.Get("/api/v1/documents/" + id, env.key_a).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200) << "recovers when the database is back";
}

}  // namespace
}  // namespace plinth::testing
