// `plinth serve` on SQLite through real HTTP (the shared cases), the configuration precedence,
// the demo credentials of `make run`, and the binary itself: --help, --print-config, SIGTERM.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <map>
#include <regex>

#include "api/serve_cases.h"

namespace plinth::testing {
namespace {

std::string RunCapture(const std::string& cmd, int* exit_code = nullptr);

INSTANTIATE_TEST_SUITE_P(Sqlite, ServeCases, ::testing::Values("sqlite"));

// ---- configuration ------------------------------------------------------------------------

api::ConfigSources Sources(std::map<std::string, std::string> flags, std::map<std::string, std::string> env,
                           std::string file = {}) {
  api::ConfigSources s;
  s.flags = std::move(flags);
  s.env = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  s.config_file = std::move(file);
  return s;
}

TEST(ServeConfig, FlagsBeatEnvironmentBeatFileBeatDefault) {
  TempDir dir;
  const std::string file = dir / "plinth.toml";
  std::ofstream(file) << "db_pool_size = 7\n"
                         "db-max-overflow = 9\n"
                         "listen = \"127.0.0.1:9000\"\n"
                         "request_timeout = \"2s\"\n"
                         "enable_auth = false\n";
  auto r = api::ResolveConfig(Sources({{"listen", "127.0.0.1:9100"}}, {{"DB_POOL_SIZE", "11"}, {"PLINTH_LISTEN", "127.0.0.1:9200"}}, file));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.port, 9100) << "flag beats env and file";
  EXPECT_EQ(r->config.pool.size, 11) << "env beats file";
  EXPECT_EQ(r->config.pool.max_overflow, 9) << "file beats default";
  EXPECT_EQ(r->config.request_timeout, std::chrono::seconds(2));
  EXPECT_FALSE(r->config.enable_auth);
  EXPECT_EQ(r->config.pool.recycle, std::chrono::seconds(3600)) << "default";
  EXPECT_EQ(r->origin["listen"], "flag --listen");
  EXPECT_EQ(r->origin["db_pool_size"], "env DB_POOL_SIZE");
  EXPECT_EQ(r->origin["db_max_overflow"], "file " + file);
  EXPECT_EQ(r->origin["db_pool_recycle"], "default");
  const std::string shown = api::FormatConfig(*r);
  EXPECT_NE(shown.find("db_pool_size = 11  # env DB_POOL_SIZE"), std::string::npos) << shown;
}

TEST(ServeConfig, EveryProblemIsReportedWithItsSource) {
  TempDir dir;
  const std::string file = dir / "bad.toml";
  std::ofstream(file) << "db_pool_size = 7\nno_such_setting = 1\n";
  auto r = api::ResolveConfig(Sources({{"threads", "many"}}, {{"REQUEST_TIMEOUT", "soon"}, {"RATE_LIMIT_KEY", "x/y"}}, file));
  ASSERT_FALSE(r.ok());
  const std::string m = r.status().message();
  EXPECT_NE(m.find("no_such_setting"), std::string::npos) << m;
  EXPECT_NE(m.find(file + ":2:1"), std::string::npos) << m;
  EXPECT_NE(m.find("threads (flag --threads)"), std::string::npos) << m;
  EXPECT_NE(m.find("request_timeout (env REQUEST_TIMEOUT)"), std::string::npos) << m;
  EXPECT_NE(m.find("rate_limit_key"), std::string::npos) << m;
}

TEST(ServeConfig, ValueForms) {
  auto r = api::ResolveConfig(Sources({}, {{"MAX_BODY_BYTES", "64k"},
                                           {"HEADER_TIMEOUT", "250ms"},
                                           {"RATE_LIMIT_KEY", "50"},
                                           {"RATE_LIMIT_IP", "5/8"},
                                           {"ACCESS_LOG", "off"},
                                           {"PLINTH_LISTEN", "[::1]:0"},
                                           {"DB_POOL_RECYCLE", "2m"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.max_body_bytes, 64u * 1024);
  EXPECT_EQ(r->config.header_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(r->config.key_rate_limit.rate, 50);
  EXPECT_EQ(r->config.key_rate_limit.burst, 100);
  EXPECT_EQ(r->config.ip_rate_limit.rate, 5);
  EXPECT_EQ(r->config.ip_rate_limit.burst, 8);
  EXPECT_TRUE(r->config.access_log.empty());
  EXPECT_EQ(r->config.host, "::1");
  EXPECT_EQ(r->config.port, 0);
  EXPECT_EQ(r->config.pool.recycle, std::chrono::seconds(120));
  std::string host;
  uint16_t port = 0;
  EXPECT_FALSE(api::ParseListen("8080", host, port).ok());
  EXPECT_FALSE(api::ParseListen("::1:8080", host, port).ok());
  EXPECT_FALSE(api::ParseListen("127.0.0.1:70000", host, port).ok());
}

TEST(ServeConfig, AuditSealerCadence) {
  auto d = api::ResolveConfig(Sources({}, {}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->config.audit_seal_interval.count(), 0) << "0: the backend's own cadence";
  EXPECT_EQ(d->config.audit_seal_batch, 0);
  auto r = api::ResolveConfig(Sources({{"audit_seal_batch", "50"}}, {{"AUDIT_SEAL_INTERVAL", "100ms"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.audit_seal_interval, std::chrono::milliseconds(100));
  EXPECT_EQ(r->config.audit_seal_batch, 50);
  auto bad = api::ResolveConfig(Sources({{"audit_seal_batch", "-1"}}, {{"AUDIT_SEAL_INTERVAL", "1ms"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("audit_seal_interval (env AUDIT_SEAL_INTERVAL)"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("audit_seal_batch (flag --audit-seal-batch)"), std::string::npos)
      << bad.status().message();
}

TEST(ServeConfig, SecretsAreNotPrinted) {
  auto r = api::ResolveConfig(Sources({{"database_url", "postgresql://app:hunter2@db/app"}},
                                      {{"JWT_SECRET", "super-secret-value-0123456789abcdef"}}));
  ASSERT_TRUE(r.ok());
  const std::string shown = api::FormatConfig(*r);
  EXPECT_EQ(shown.find("hunter2"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("super-secret"), std::string::npos) << shown;
  EXPECT_NE(shown.find("jwt_secret = ***"), std::string::npos) << shown;
}

// ---- the demo credentials of `make run` ---------------------------------------------------

TEST(ServeDemo, FirstStartCreatesAndPrintsOnceSecondStartReuses) {
  TempDir var;
  const std::string key_file = var / "var/demo-key.txt";
  std::string first_output, key;
  {
    ServeEnv env("sqlite", [&](api::ServeConfig& c) { c.demo_key_file = key_file; });
    ASSERT_TRUE(env.ok());
    first_output = env.startup_output();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(first_output, m, std::regex("(plinth_[A-Za-z0-9]+_[A-Za-z0-9]+_[A-Za-z0-9]+)")))
        << first_output;
    key = m[1];
    EXPECT_NE(first_output.find("curl -H \"Authorization: Bearer " + key + "\""), std::string::npos) << first_output;
    struct stat st {};
    ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream in(key_file);
    std::string stored;
    std::getline(in, stored);
    EXPECT_EQ(stored, key);
    TestResponse me = env.Get("/api/v1/auth/me", key);
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.Json()["role"], "admin");
    EXPECT_EQ(env.Post("/api/v1/documents", key, R"({"title":"demo"})").status, 201);
    // Second start on the same database: reused, the secret is not printed again.
    env.StopServer();
    api::ServeConfig c = env.config();
    std::ostringstream out;
    auto again = api::ApiServer::Create(c, out);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_NE(out.str().find("reusing the demo API key kept in " + key_file), std::string::npos) << out.str();
    EXPECT_EQ(out.str().find(key), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("$(cat " + key_file + ")"), std::string::npos) << out.str();
    (*again)->Stop();
  }
}


// ---- /openapi.json of the documents example: valid, and every example works ----------------

// A demo server of examples/documents (the `make run` setup) in process.
struct DemoServer {
  TempDir dir;
  std::unique_ptr<api::ApiServer> server;
  std::string key, output;
  bool Start() {
    api::ServeConfig c;
    c.app_dir = std::string(PLINTH_SOURCE_DIR) + "/examples/documents";
    c.database_url = "sqlite://" + (dir / "documents.db");
    c.migrate = true;
    c.port = 0;
    c.threads = 2;
    c.access_log.clear();
    c.hash_threads = 1;
    c.demo_key_file = dir / "demo-key.txt";
    c.key_rate_limit = {};
    std::ostringstream out;
    auto s = api::ApiServer::Create(c, out);
    output = out.str();
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString() << "\n" << output;
      return false;
    }
    server = std::move(s).value();
    server->Start();
    std::ifstream in(dir / "demo-key.txt");
    std::getline(in, key);
    return !key.empty();
  }
};

TEST(ServeOpenApi, ValidatesAgainstTheOpenApiSchema) {
  DemoServer demo;
  ASSERT_TRUE(demo.Start());
  TestClient c(demo.server->port());
  auto r = c.Request("GET", "/openapi.json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const std::string file = demo.dir / "openapi.json";
  std::ofstream(file) << r->body;
  int code = -1;
  const std::string out = RunCapture("bash " + std::string(PLINTH_SOURCE_DIR) + "/tests/api/validate_openapi.sh " + file, &code);
  if (code == 77) GTEST_SKIP() << "npm registry unreachable: " << out;
  EXPECT_EQ(code, 0) << out;
}

TEST(ServeOpenApi, EveryExampleWorksAgainstADemoServer) {
  DemoServer demo;
  ASSERT_TRUE(demo.Start());
  const uint16_t port = demo.server->port();
  auto call = [&](const std::string& method, const std::string& target, const std::string& body = {},
                  Headers extra = {}) {
    TestClient c(port);
    extra.emplace_back("Authorization", "Bearer " + demo.key);
    if (!body.empty()) extra.emplace_back("Content-Type", "application/json");
    return c.Request(method, target, extra, body).value_or(TestResponse{});
  };
  json doc = json::parse(call("GET", "/openapi.json").body);
  ASSERT_TRUE(doc.contains("paths"));
  auto example_of = [](const json& op) -> std::optional<json> {
    if (!op.contains("requestBody")) return std::nullopt;
    const json& media = op["requestBody"]["content"]["application/json"];
    if (media.contains("examples")) return media["examples"].begin().value()["value"];
    if (media.contains("example")) return media["example"];
    return std::nullopt;
  };
  auto encode = [](const std::string& v) {
    std::string out;
    for (unsigned char ch : v) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ',' || ch == '(' || ch == ')' || ch == '*') out += static_cast<char>(ch);
      else {
        char b[4];
        std::snprintf(b, sizeof b, "%%%02X", ch);
        out += b;
      }
    }
    return out;
  };
  int ran = 0;
  std::map<std::string, std::string> ids;  // collection path → a row id created or found there
  // 1. Collections: POST examples (creating the rows the item examples use), then GET with each
  //    query-parameter example alone.
  for (const auto& [path, item] : doc["paths"].items()) {
    if (path.find('{') != std::string::npos || path.rfind("/api/v1/", 0) != 0 || path.find("/auth/") != std::string::npos ||
        path.find("/system/") != std::string::npos) {
      continue;
    }
    if (item.contains("post")) {
      auto body = example_of(item["post"]);
      ASSERT_TRUE(body) << "POST " << path << " has no request example";
      TestResponse r = call("POST", path, body->dump());
      EXPECT_EQ(r.status, 201) << "POST " << path << " " << body->dump() << " → " << r.body;
      ++ran;
      if (r.status == 201) ids[path] = r.Json().value("id", std::string());
    }
    if (item.contains("get")) {
      std::vector<json> params = item["get"].value("parameters", json::array());
      if (item.contains("parameters")) for (const auto& p : item["parameters"]) params.push_back(p);
      TestResponse all = call("GET", path);
      EXPECT_EQ(all.status, 200) << "GET " << path << " → " << all.body;
      ++ran;
      if (!ids.count(path) && all.status == 200 && !all.Json()["items"].empty()) ids[path] = all.Json()["items"][0].value("id", std::string());
      for (json p : params) {
        if (p.contains("$ref")) {
          std::string ref = p["$ref"];
          json target = doc;
          for (size_t pos = 2; pos < ref.size();) {
            size_t next = ref.find('/', pos);
            target = target[ref.substr(pos, next == std::string::npos ? std::string::npos : next - pos)];
            pos = next == std::string::npos ? ref.size() : next + 1;
          }
          p = target;
        }
        if (!p.contains("example") && !(p.contains("schema") && p["schema"].contains("example"))) continue;
        const json ex = p.contains("example") ? p["example"] : p["schema"]["example"];
        const std::string value = ex.is_string() ? ex.get<std::string>() : ex.dump();
        TestResponse r;
        if (p.value("in", "") == "query") r = call("GET", path + "?" + p.value("name", "") + "=" + encode(value));
        else if (p.value("in", "") == "header") r = call("GET", path, {}, {{p.value("name", ""), value}});
        else continue;
        EXPECT_EQ(r.status, 200) << "GET " << path << " " << p.value("in", "") << " " << p.value("name", "") << "=" << value
                                 << " → " << r.body;
        ++ran;
      }
    }
  }
  // 2. Items: GET, PATCH (its example), DELETE (last) on the rows found above.
  for (const auto& [path, item] : doc["paths"].items()) {
    const size_t brace = path.find("/{");
    if (brace == std::string::npos || path.rfind("/api/v1/", 0) != 0) continue;
    const std::string collection = path.substr(0, brace);
    auto it = ids.find(collection);
    if (it == ids.end() || it->second.empty()) {
      // A read-only table with no rows in a fresh demo database: an unknown id is a 404.
      if (item.contains("get")) {
        EXPECT_EQ(call("GET", collection + "/00000000-0000-4000-8000-000000000000").status, 404) << path;
        ++ran;
      }
      continue;
    }
    const std::string target = collection + "/" + it->second;
    if (item.contains("get")) {
      TestResponse r = call("GET", target);
      EXPECT_EQ(r.status, 200) << "GET " << target << " → " << r.body;
      ++ran;
    }
    if (item.contains("patch")) {
      auto body = example_of(item["patch"]);
      ASSERT_TRUE(body) << "PATCH " << path << " has no request example";
      TestResponse r = call("PATCH", target, body->dump());
      EXPECT_EQ(r.status, 200) << "PATCH " << target << " " << body->dump() << " → " << r.body;
      ++ran;
    }
    if (item.contains("delete")) {
      TestResponse r = call("DELETE", target);
      EXPECT_EQ(r.status, 204) << "DELETE " << target << " → " << r.body;
      ++ran;
    }
  }
  // 3. The service endpoints.
  for (const char* p : {"/health/live", "/health/ready", "/api/v1/system/health/database",
                        "/api/v1/system/health/comprehensive", "/metrics", "/docs", "/api/v1/auth/me"}) {
    if (!doc["paths"].contains(p)) continue;
    EXPECT_EQ(call("GET", p).status, 200) << p;
    ++ran;
  }
  EXPECT_GT(ran, 30) << "the document has examples to run";
}

// ---- the binary ------------------------------------------------------------------------------

std::string RunCapture(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  if (exit_code != nullptr) *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

TEST(ServeBinary, HelpListsEverySettingWithItsEnvironmentNameAndDefault) {
  int code = -1;
  const std::string help = RunCapture(std::string(PLINTH_BINARY) + " serve --help", &code);
  EXPECT_EQ(code, 0) << help;
  for (const api::SettingInfo& s : api::Settings()) {
    EXPECT_NE(help.find(s.env), std::string::npos) << s.env << "\n" << help;
    EXPECT_NE(help.find(s.flag), std::string::npos) << s.flag;
    if (s.global) continue;  // --database-url, --app: options of `plinth` itself, in the settings table
    // The option's own line names its variable and default.
    const std::string tail = "[env: " + s.env + "]" + (s.default_value.empty() ? "" : " (default: " + s.default_value + ")");
    EXPECT_NE(help.find(tail), std::string::npos) << s.flag << ": no '" << tail << "'\n" << help;
  }
  EXPECT_NE(help.find("DB_POOL_SIZE"), std::string::npos);
  EXPECT_NE(help.find("--config"), std::string::npos);
}

// docs/operations.md's settings table is written by hand: it must list every setting with its
// environment variable and default, and nothing that is not a setting.
TEST(ServeBinary, OperationsDocListsEverySetting) {
  std::ifstream in(std::string(PLINTH_SOURCE_DIR) + "/docs/operations.md");
  ASSERT_TRUE(in) << "docs/operations.md";
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t rows = 0;
  const std::regex row("\\| `(--[a-z-]+)` \\| `([A-Z_]+)` \\| ([^|]*) \\|");
  std::map<std::string, std::pair<std::string, std::string>> documented;  // flag → (env, default)
  for (std::sregex_iterator it(doc.begin(), doc.end(), row), end; it != end; ++it, ++rows) {
    std::string def = (*it)[3];
    if (def == "\u2014") def.clear();  // an em dash: no default
    if (def.size() >= 2 && def.front() == '`' && def.back() == '`') def = def.substr(1, def.size() - 2);
    documented[(*it)[1]] = {(*it)[2], def};
  }
  for (const api::SettingInfo& s : api::Settings()) {
    auto d = documented.find(s.flag);
    if (d == documented.end()) {
      ADD_FAILURE() << s.flag << " is not in docs/operations.md's settings table";
      continue;
    }
    EXPECT_EQ(d->second.first, s.env) << s.flag;
    EXPECT_EQ(d->second.second, s.default_value) << s.flag;
  }
  EXPECT_EQ(rows, api::Settings().size()) << "docs/operations.md lists a setting that does not exist";
}

TEST(ServeBinary, PrintConfigShowsPrecedence) {
  TempDir dir;
  const std::string file = dir / "p.toml";
  std::ofstream(file) << "db_pool_size = 3\nthreads = 3\n";
  int code = -1;
  const std::string out = RunCapture("env DB_POOL_SIZE=5 DATABASE_URL=sqlite:///tmp/x.db " + std::string(PLINTH_BINARY) +
                                         " serve --config " + file + " --threads 2 --print-config",
                                     &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("threads = 2  # flag --threads"), std::string::npos) << out;
  EXPECT_NE(out.find("db_pool_size = 5  # env DB_POOL_SIZE"), std::string::npos) << out;
  EXPECT_NE(out.find("database_url = sqlite:///tmp/x.db"), std::string::npos) << out;
  const std::string bad = RunCapture("env DB_POOL_SIZE=lots " + std::string(PLINTH_BINARY) + " serve --print-config", &code);
  EXPECT_EQ(code, 2) << bad;
  EXPECT_NE(bad.find("DB_POOL_SIZE"), std::string::npos) << bad;
}

TEST(ServeBinary, ServesTheExampleAppAndStopsGracefullyOnSigterm) {
  TempDir dir;
  const std::string db = dir / "documents.db";
  const std::string log = dir / "out.txt";
  const std::string keyf = dir / "demo-key.txt";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string app = std::string(PLINTH_SOURCE_DIR) + "/examples/documents";
    const std::string url = "sqlite://" + db;
    ::execl(PLINTH_BINARY, PLINTH_BINARY, "serve", "--app", app.c_str(), "--database-url", url.c_str(), "--migrate",
            "--listen", "127.0.0.1:0", "--threads", "2", "--access-log", "off", "--demo-key-file", keyf.c_str(),
            static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int port = 0;
  std::string text;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::smatch m;
    if (std::regex_search(text, m, std::regex("listening on http://127\\.0\\.0\\.1:([0-9]+)"))) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(port, 0) << text;
  std::ifstream kin(keyf);
  std::string key;
  std::getline(kin, key);
  ASSERT_FALSE(key.empty()) << text;
  {
    TestClient c(static_cast<uint16_t>(port));
    auto r = c.Request("POST", "/api/v1/documents", {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}},
                       R"({"title":"from the binary"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << r->body;
    auto ready = c.Request("GET", "/health/ready");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (i == 199) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL() << "plinth serve did not stop within 10 s of SIGTERM";
    }
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream in(log);
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("plinth serve: stopped"), std::string::npos) << text;
}

}  // namespace
}  // namespace plinth::testing
