// The OpenAPI document of each example app: valid OpenAPI 3.1 (through the npm validator),
// every exposed resource, operation, filter parameter and body schema present, nothing hidden
// leaked, and every example accepted by plinth's own parsers. And the /docs page.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/rest_fixture.h"
#include "plinth/rest.h"

namespace plinth::rest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::vector<std::string> kApps = {"documents", "escrow", "settings", "curatore"};

schema::Schema LoadApp(const std::string& app) {
  Diagnostics diags;
  std::string path = std::string(PLINTH_SOURCE_DIR) + "/examples/" + app + "/schema.toml";
  Result<schema::Schema> s = schema::LoadSchemaFile(path, diags);
  EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << diags.ToString();
  return s.ok() ? std::move(s).value() : schema::Schema{};
}

json Document(const schema::Schema& s) {
  json doc = json::parse(OpenApiDocument(s, OpenApiOptions{}), nullptr, false);
  EXPECT_FALSE(doc.is_discarded());
  return doc;
}

std::set<std::string> Keys(const json& obj) {
  std::set<std::string> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) out.insert(it.key());
  return out;
}

// Query parameters as the example of each parameter would send them.
std::string AsQueryValue(const json& example) { return example.is_string() ? example.get<std::string>() : example.dump(); }

class OpenApiAppTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OpenApiAppTest, EveryExposedTableHasItsOperations) {
  schema::Schema s = LoadApp(GetParam());
  json doc = Document(s);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["info"]["title"], GetParam() + " API");
  const json& paths = doc["paths"];
  for (const schema::Table& t : s.tables) {
    const std::string coll = "/api/v1/" + t.name;
    const std::string item = coll + "/{id}";
    if (!TableExposed(t)) {
      EXPECT_FALSE(paths.contains(coll)) << coll;
      EXPECT_FALSE(doc["components"]["schemas"].contains(t.name)) << t.name;
      continue;
    }
    ASSERT_TRUE(paths.contains(coll)) << coll;
    EXPECT_TRUE(paths[coll].contains("get")) << coll;
    EXPECT_EQ(paths[coll].contains("post"), TableAcceptsInsert(t)) << coll;
    const schema::Column* key = ItemKeyColumn(s, t);
    EXPECT_EQ(paths.contains(item), key != nullptr) << item;
    if (key != nullptr) {
      EXPECT_TRUE(paths[item].contains("get"));
      EXPECT_EQ(paths[item].contains("patch"), TableAcceptsUpdate(t)) << item;
      EXPECT_EQ(paths[item].contains("delete"), TableAcceptsDelete(t)) << item;
      EXPECT_FALSE(paths[item].contains("post"));
    }
    // Every filterable column is a documented parameter of the list, with its operators.
    std::set<std::string> params;
    for (const json& p : paths[coll]["get"]["parameters"]) {
      if (p.contains("name")) params.insert(p["name"].get<std::string>());
      if (p.contains("$ref")) params.insert(p["$ref"].get<std::string>().substr(p["$ref"].get<std::string>().rfind('/') + 1));
    }
    for (const char* fixed : {"limit", "offset", "after", "select", "order", "or", "and", "not.or", "not.and"}) {
      EXPECT_TRUE(params.count(fixed)) << coll << " " << fixed;
    }
    for (const schema::Column& c : t.columns) {
      EXPECT_EQ(params.count(c.name) == 1, ColumnFilterable(c) && !IsReservedParameter(c.name)) << coll << " " << c.name;
    }
    // The row schema holds exactly the returned columns.
    const json& row = doc["components"]["schemas"][t.name];
    std::set<std::string> returned;
    for (const schema::Column& c : t.columns) {
      if (ColumnReturned(c)) returned.insert(c.name);
    }
    EXPECT_EQ(Keys(row["properties"]), returned) << t.name;
    // The insert schema holds the accepted columns and requires exactly the required ones.
    if (TableAcceptsInsert(t)) {
      const json& ins = doc["components"]["schemas"][t.name + ".insert"];
      std::set<std::string> accepted, required, listed;
      for (const schema::Column& c : t.columns) {
        if (ColumnAccepted(s, t, c)) accepted.insert(c.name);
        if (ColumnRequiredOnInsert(s, t, c)) required.insert(c.name);
      }
      EXPECT_EQ(Keys(ins["properties"]), accepted) << t.name;
      if (ins.contains("required")) {
        for (const json& r : ins["required"]) listed.insert(r.get<std::string>());
      }
      EXPECT_EQ(listed, required) << t.name;
      EXPECT_EQ(ins["additionalProperties"], false);
    }
  }
  for (const char* fixed : {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/me",
                            "/health/live", "/health/ready", "/api/v1/system/health/database",
                            "/api/v1/system/health/comprehensive", "/metrics", "/openapi.json", "/docs"}) {
    EXPECT_TRUE(paths.contains(fixed)) << fixed;
  }
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
  EXPECT_EQ(doc["security"][0].begin().key(), "bearerAuth");
  EXPECT_TRUE(paths["/health/live"]["get"]["security"].empty());
  for (const char* r : {"BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "ContentTooLarge",
                        "UnsupportedMediaType", "UnprocessableContent", "TooManyRequests", "ServiceUnavailable", "GatewayTimeout"}) {
    EXPECT_TRUE(doc["components"]["responses"].contains(r)) << r;
  }
}

TEST_P(OpenApiAppTest, NoHiddenColumnIsNamedAnywhere) {
  schema::Schema s = LoadApp(GetParam());
  std::string text = OpenApiDocument(s, OpenApiOptions{});
  for (const schema::Table& t : s.tables) {
    for (const schema::Column& c : t.columns) {
      if (c.access != schema::Access::kHidden) continue;
      EXPECT_THAT(text, Not(HasSubstr("\"" + c.name + "\""))) << t.name << "." << c.name;
    }
  }
}

TEST_P(OpenApiAppTest, ExamplesPassPlinthsOwnParsers) {
  schema::Schema s = LoadApp(GetParam());
  json doc = Document(s);
  for (const schema::Table& t : s.tables) {
    if (!TableExposed(t)) continue;
    const std::string coll = "/api/v1/" + t.name;
    const json& list = doc["paths"][coll]["get"];
    for (const json& p : list["parameters"]) {
      if (!p.contains("example") || p["in"] != "query") continue;
      QueryParams q = {{p["name"].get<std::string>(), AsQueryValue(p["example"])}};
      ParsedListQuery parsed = ParseListQuery(s, t, q, QueryLimits{});
      EXPECT_TRUE(parsed.ok()) << coll << " " << q[0].first << "=" << q[0].second << ": "
                               << (parsed.errors.empty() ? "" : parsed.errors[0].message);
    }
    for (const json& p : doc["components"]["parameters"]) {
      if (!p.contains("example") || p["in"] != "query") continue;
      ParsedListQuery parsed = ParseListQuery(s, t, {{p["name"].get<std::string>(), AsQueryValue(p["example"])}}, {});
      EXPECT_TRUE(parsed.ok()) << coll << " " << p["name"] << ": "
                               << (parsed.errors.empty() ? "" : parsed.errors[0].message);
    }
    if (TableAcceptsInsert(t)) {
      const json& body = doc["paths"][coll]["post"]["requestBody"]["content"]["application/json"]["examples"]["create"]["value"];
      ParsedBody b = ParseBody(s, t, body.dump(), WriteKind::kInsert, {});
      EXPECT_TRUE(b.ok()) << coll << " " << body.dump() << ": " << (b.errors.empty() ? "" : b.errors[0].field + " " + b.errors[0].message);
    }
    if (doc["paths"].contains(coll + "/{id}") && doc["paths"][coll + "/{id}"].contains("patch")) {
      const json& body =
          doc["paths"][coll + "/{id}"]["patch"]["requestBody"]["content"]["application/json"]["examples"]["change"]["value"];
      ParsedBody b = ParseBody(s, t, body.dump(), WriteKind::kUpdate, {});
      EXPECT_TRUE(b.ok()) << coll << " " << body.dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Apps, OpenApiAppTest, ::testing::ValuesIn(kApps));

TEST(OpenApi, FixtureDetails) {
  schema::Schema s = testing::LoadShop();
  OpenApiOptions o;
  o.title = "Shop";
  o.version = "2.3.4";
  o.limits.max_limit = 50;
  json doc = json::parse(OpenApiDocument(s, o));
  EXPECT_EQ(doc["info"]["title"], "Shop");
  EXPECT_EQ(doc["info"]["version"], "2.3.4");
  EXPECT_EQ(doc["components"]["parameters"]["limit"]["schema"]["maximum"], 50);
  const json& row = doc["components"]["schemas"]["items"]["properties"];
  EXPECT_EQ(row["id"]["format"], "uuid");
  EXPECT_EQ(row["title"]["maxLength"], 10);
  EXPECT_EQ(row["qty"]["type"], "integer");
  EXPECT_EQ(row["big"]["type"], json::array({"integer", "null"}));
  EXPECT_EQ(row["price"]["type"], json::array({"string", "null"}));
  EXPECT_EQ(row["due_at"]["format"], "date-time");
  EXPECT_EQ(row["day"]["format"], "date");
  EXPECT_EQ(row["blob"]["contentEncoding"], "base64");
  EXPECT_EQ(row["status"]["enum"], json::array({"draft", "active", "archived"}));
  EXPECT_FALSE(row.contains("secret"));
  EXPECT_FALSE(row.contains("pw_hash"));
  const json& ins = doc["components"]["schemas"]["items.insert"]["properties"];
  EXPECT_EQ(ins["secret"]["writeOnly"], true);
  EXPECT_EQ(ins["price"]["type"], json::array({"string", "number", "null"}));
  EXPECT_FALSE(ins.contains("code"));
  EXPECT_FALSE(ins.contains("tenant_id"));
  EXPECT_FALSE(ins.contains("created_at"));
  const json& upd = doc["components"]["schemas"]["items.update"];
  EXPECT_FALSE(upd["properties"].contains("id"));
  EXPECT_EQ(upd["minProperties"], 1);
  // Filter parameters say which operators their column takes.
  for (const json& p : doc["paths"]["/api/v1/items"]["get"]["parameters"]) {
    if (p.value("name", "") == "meta") {
      EXPECT_EQ(p["schema"]["pattern"], "^(not\\.)?(is)\\.");
    }
    if (p.value("name", "") == "title") {
      EXPECT_THAT(p["description"].get<std::string>(), HasSubstr("like, ilike"));
    }
    EXPECT_NE(p.value("name", ""), "config");  // encrypted: not filterable
  }
  EXPECT_FALSE(doc["paths"].contains("/api/v1/internal_notes"));
  EXPECT_FALSE(doc["paths"].contains("/api/v1/links/{id}"));  // composite key
  EXPECT_TRUE(doc["paths"]["/api/v1/links"].contains("post"));
  EXPECT_FALSE(doc["paths"]["/api/v1/events/{id}"].contains("patch"));  // append-only
  EXPECT_EQ(doc["paths"]["/api/v1/events/{id}"]["parameters"][0]["schema"]["type"], "integer");
}

std::string RunCommand(const std::string& cmd, int& exit_code) {
  std::string out_file = (std::filesystem::temp_directory_path() / ("plinth-openapi-" + std::to_string(::getpid()) + ".log")).string();
  int rc = std::system((cmd + " >" + out_file + " 2>&1").c_str());
  exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::filesystem::remove(out_file);
  return ss.str();
}

// One run of the validator (node and the OpenAPI schema compile take seconds) over the four
// apps, the fixture, and a broken document that must be refused — so the check cannot pass by
// validating nothing.
TEST(OpenApi, ValidatesAgainstTheOpenApi31Schema) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("plinth-openapi-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string files;
  auto write = [&](const std::string& name, const std::string& text) {
    std::filesystem::path p = dir / (name + ".json");
    std::ofstream(p) << text;
    files += " " + p.string();
  };
  for (const std::string& app : kApps) write(app, OpenApiDocument(LoadApp(app), OpenApiOptions{}));
  write("shop", OpenApiDocument(testing::LoadShop(), OpenApiOptions{}));
  json bad = json::parse(OpenApiDocument(testing::LoadShop(), OpenApiOptions{}));
  bad["paths"]["/api/v1/items"]["get"]["responses"]["200"].erase("description");  // required by OpenAPI
  write("broken-structure", bad.dump());
  json bad_example = json::parse(OpenApiDocument(testing::LoadShop(), OpenApiOptions{}));
  bad_example["paths"]["/api/v1/items"]["post"]["requestBody"]["content"]["application/json"]["examples"]["create"]
             ["value"]["qty"] = "not a number";
  write("broken-example", bad_example.dump());
  int code = 0;
  std::string output = RunCommand("bash " + std::string(PLINTH_SOURCE_DIR) + "/tests/api/validate_openapi.sh" + files, code);
  std::filesystem::remove_all(dir);
  if (code == 77) GTEST_SKIP() << "npm unreachable, OpenAPI not validated: " << output;
  EXPECT_EQ(code, 1) << output;  // the broken documents fail the run
  for (const std::string& name : {"documents", "escrow", "settings", "curatore", "shop"}) {
    EXPECT_THAT(output, HasSubstr(name + ".json: valid OpenAPI 3.1.0")) << output;
  }
  EXPECT_THAT(output, HasSubstr("broken-structure.json: INVALID"));
  EXPECT_THAT(output, HasSubstr("broken-example.json: INVALID"));
  EXPECT_THAT(output, HasSubstr("the example does not match its schema"));
}

TEST(DocsPage, RendersEveryOperationOfflineAndEscapes) {
  schema::Schema s = testing::LoadShop();
  s.FindTable("items")->comment = "<script>alert('x')</script> & more";
  std::string doc = OpenApiDocument(s, OpenApiOptions{});
  Result<std::string> page = DocsPage(doc);
  ASSERT_TRUE(page.ok());
  const std::string& html = *page;
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<title>shop API</title>"));
  for (const char* op : {"op-items-list", "op-items-create", "op-items-get", "op-items-update", "op-items-delete",
                         "op-auth-login", "op-health-ready", "schema-items-insert"}) {
    EXPECT_THAT(html, HasSubstr(std::string("id=\"") + op + "\"")) << op;
  }
  EXPECT_THAT(html, HasSubstr("/api/v1/items/{id}"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
  EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
  // Self-contained: no external script, style, font or image.
  EXPECT_THAT(html, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_FALSE(DocsPage("[1,2]").ok());
  EXPECT_FALSE(DocsPage("not json").ok());
  // Every example app renders.
  for (const std::string& app : kApps) EXPECT_TRUE(DocsPage(OpenApiDocument(LoadApp(app), OpenApiOptions{})).ok()) << app;
}

}  // namespace
}  // namespace plinth::rest
