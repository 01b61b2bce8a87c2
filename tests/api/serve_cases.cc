// The cases of serve_cases.h, compiled once into api_cases and instantiated by serve_test.cc
// (SQLite) and serve_pgtest.cc (PostgreSQL).
#include "api/serve_cases.h"

namespace plinth::testing {

TEST_P(ServeCases, CrudRoundTripThroughEveryDocumentRoute) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  TestResponse created = env->Post("/api/v1/documents", env->key_a,
                                   R"({"title":"First","pages":3,"price":"12.50","metadata":{"k":[1,2]},"secret_note":"s3cret"})");
  ASSERT_EQ(created.status, 201) << created.body;
  json row = created.Json();
  const std::string id = row.value("id", std::string());
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(created.Header("location"), "/api/v1/documents/" + id);
  EXPECT_EQ(row["title"], "First");
  EXPECT_EQ(row["pages"], 3);
  EXPECT_EQ(row["price"], "12.50") << "a decimal has exactly its scale's digits";
  EXPECT_EQ(row["metadata"], json::parse(R"({"k":[1,2]})"));
  EXPECT_EQ(row["tenant_id"], env->tenant_a);
  EXPECT_EQ(row["status"], "draft");
  EXPECT_FALSE(row.contains("secret_note")) << "write-only columns are never returned";
  EXPECT_FALSE(row.contains("internal")) << "hidden columns are never returned";
  EXPECT_TRUE(row.contains("created_at"));

  TestResponse got = env->Get("/api/v1/documents/" + id, env->key_a);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Header("content-type"), "application/json");
  EXPECT_EQ(got.Json(), row);

  TestResponse head = [&] {
    TestClient c(env->port());
    c.Send("HEAD /api/v1/documents/" + id + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + env->key_a + "\r\n\r\n");
    return c.Read(true).value_or(TestResponse{});
  }();
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());

  TestResponse selected = env->Get("/api/v1/documents/" + id + "?select=id,title", env->key_a);
  ASSERT_EQ(selected.status, 200) << selected.body;
  EXPECT_EQ(selected.Json(), json::parse(R"({"id":")" + id + R"(","title":"First"})"));

  TestResponse patched = env->Patch("/api/v1/documents/" + id, env->key_a, R"({"title":"Renamed","status":"published"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.Json()["title"], "Renamed");
  EXPECT_EQ(patched.Json()["status"], "published");

  TestResponse minimal = env->Patch("/api/v1/documents/" + id, env->key_a, R"({"pages":4})", {{"Prefer", "return=minimal"}});
  EXPECT_EQ(minimal.status, 204) << minimal.body;
  EXPECT_EQ(minimal.Header("preference-applied"), "return=minimal");
  EXPECT_EQ(env->Get("/api/v1/documents/" + id, env->key_a).Json()["pages"], 4);

  TestResponse post_minimal = env->Post("/api/v1/documents", env->key_a, R"({"title":"Quiet"})", {{"Prefer", "return=minimal"}});
  EXPECT_EQ(post_minimal.status, 201);
  EXPECT_TRUE(post_minimal.body.empty());
  EXPECT_NE(post_minimal.Header("location").find("/api/v1/documents/"), std::string::npos);

  TestResponse list = env->Get("/api/v1/documents", env->key_a);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Titles(list), (Titles_{"Quiet", "Renamed"}));
  EXPECT_EQ(list.Header("content-range"), "0-1/*");

  TestResponse del = env->Delete("/api/v1/documents/" + id, env->key_a);
  EXPECT_EQ(del.status, 204) << del.body;
  json gone = Problem(env->Get("/api/v1/documents/" + id, env->key_a), 404);
  EXPECT_EQ(Problem(env->Delete("/api/v1/documents/" + id, env->key_a), 404).value("status", 0), 404);
  (void)gone;
}

TEST_P(ServeCases, UpsertMergesDuplicatesOfTheSameTenantOnly) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  const std::string id = "aaaaaaaa-0000-4000-8000-000000000001";
  TestResponse first = env->Post("/api/v1/documents", env->key_a, R"({"id":")" + id + R"(","title":"One"})",
                                 {{"Prefer", "resolution=merge-duplicates"}});
  ASSERT_EQ(first.status, 201) << first.body;
  TestResponse second = env->Post("/api/v1/documents", env->key_a, R"({"id":")" + id + R"(","title":"Two"})",
                                  {{"Prefer", "resolution=merge-duplicates"}});
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.Header("preference-applied"), "resolution=merge-duplicates");
  EXPECT_EQ(env->Get("/api/v1/documents/" + id, env->key_a).Json()["title"], "Two");
  // Tenant B upserting the same id creates its own row (tenant_id leads the key); A's row stays.
  TestResponse other = env->Post("/api/v1/documents", env->key_b, R"({"id":")" + id + R"(","title":"B's"})",
                                 {{"Prefer", "resolution=merge-duplicates"}});
  EXPECT_EQ(other.status, 201) << other.body;
  EXPECT_EQ(env->Get("/api/v1/documents/" + id, env->key_a).Json()["title"], "Two");
  EXPECT_EQ(env->Get("/api/v1/documents/" + id, env->key_b).Json()["title"], "B's");
  // Without the preference a duplicate key is a 409.
  json dup = Problem(env->Post("/api/v1/documents", env->key_a, R"({"id":")" + id + R"(","title":"Three"})"), 409);
  EXPECT_FALSE(dup.value("detail", std::string()).empty());
}

TEST_P(ServeCases, ExposureFollowsTheSchema) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  // Hidden tables have no resource at all.
  Problem(env->Get("/api/v1/internal_jobs", env->key_a), 404);
  Problem(env->Get("/api/v1/sessions", env->key_a), 404);
  // Read-only: GET only.
  EXPECT_EQ(env->Get("/api/v1/notices", env->key_a).status, 200);
  TestResponse post_ro = env->Post("/api/v1/notices", env->key_a, R"({"body":"x"})");
  Problem(post_ro, 405);
  EXPECT_NE(post_ro.Header("allow").find("GET"), std::string::npos);
  // Append-only: POST, no PATCH/DELETE.
  TestResponse ev = env->Post("/api/v1/events", env->key_a, R"({"kind":"login"})");
  ASSERT_EQ(ev.status, 201) << ev.body;
  const std::string ev_id = ev.Json().value("id", std::string());
  Problem(env->Patch("/api/v1/events/" + ev_id, env->key_a, R"({"kind":"x"})"), 405);
  Problem(env->Delete("/api/v1/events/" + ev_id, env->key_a), 405);
  // The tenant table is read-only and shows the caller's tenant only.
  TestResponse tenants = env->Get("/api/v1/tenants", env->key_a);
  ASSERT_EQ(tenants.status, 200) << tenants.body;
  ASSERT_EQ(tenants.Json()["items"].size(), 1u);
  EXPECT_EQ(tenants.Json()["items"][0]["id"], env->tenant_a);
  // Key hashes are never returned.
  TestResponse keys = env->Get("/api/v1/api_keys", env->key_a);
  ASSERT_EQ(keys.status, 200) << keys.body;
  ASSERT_EQ(keys.Json()["items"].size(), 2u);
  const json key_items = keys.Json()["items"];
  for (const auto& k : key_items) {
    EXPECT_FALSE(k.contains("key_hash"));
    EXPECT_EQ(k["tenant_id"], env->tenant_a);
  }
  // Users: the password hash is hidden.
  TestResponse users = env->Get("/api/v1/users", env->key_a);
  ASSERT_EQ(users.status, 200) << users.body;
  const json user_items = users.Json()["items"];
  for (const auto& u : user_items) EXPECT_FALSE(u.contains("password_hash"));
  // Unknown paths and methods.
  Problem(env->Get("/api/v1/nope", env->key_a), 404);
  TestResponse put = env->Call("PUT", "/api/v1/documents", env->key_a, "{}");
  Problem(put, 405);
}

// Seeds documents with distinct values for the filter cases.
inline void SeedFilterDocs(ServeEnv& env) {
  const char* docs[] = {
      R"({"title":"alpha","pages":1,"size":10000000000,"price":"1.10","published":true,"published_at":"2026-01-01T10:00:00Z","due":"2026-02-01","status":"published","code":"A1"})",
      R"({"title":"Beta","pages":5,"size":20,"price":"5.00","published":false,"due":"2026-03-01","status":"draft","code":"B2"})",
      R"({"title":"gamma ray","pages":10,"price":"10.25","published":true,"published_at":"2026-06-01T00:00:00Z","status":"archived"})",
      R"({"title":"delta","status":"draft"})",
  };
  for (const char* d : docs) ASSERT_FALSE(env.CreateDocument(env.key_a, d).empty());
  // Another tenant's rows never appear in A's results.
  ASSERT_FALSE(env.CreateDocument(env.key_b, R"({"title":"alpha","pages":1})").empty());
}

TEST_P(ServeCases, EveryFilterOperator) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  SeedFilterDocs(*env);
  auto titles = [&](const std::string& query) {
    TestResponse r = env->Get("/api/v1/documents?" + query, env->key_a);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return Titles(r);
  };
  EXPECT_EQ(titles("title=eq.alpha"), (Titles_{"alpha"}));
  EXPECT_EQ(titles("title=neq.alpha"), (Titles_{"Beta", "delta", "gamma ray"}));
  EXPECT_EQ(titles("pages=gt.1"), (Titles_{"Beta", "gamma ray"}));
  EXPECT_EQ(titles("pages=gte.5"), (Titles_{"Beta", "gamma ray"}));
  EXPECT_EQ(titles("pages=lt.5"), (Titles_{"alpha"}));
  EXPECT_EQ(titles("pages=lte.5"), (Titles_{"Beta", "alpha"}));
  EXPECT_EQ(titles("size=gt.100"), (Titles_{"alpha"}));
  EXPECT_EQ(titles("price=gte.5"), (Titles_{"Beta", "gamma ray"}));
  EXPECT_EQ(titles("title=like.*a*a*"), (Titles_{"alpha", "gamma ray"}));
  EXPECT_EQ(titles("title=like.B*"), (Titles_{"Beta"}));
  EXPECT_EQ(titles("title=ilike.b*"), (Titles_{"Beta"}));
  EXPECT_EQ(titles("title=in.(alpha,delta)"), (Titles_{"alpha", "delta"}));
  EXPECT_EQ(titles("status=in.(archived,published)"), (Titles_{"alpha", "gamma ray"}));
  EXPECT_EQ(titles("status=eq.draft"), (Titles_{"Beta", "delta"}));
  EXPECT_EQ(titles("pages=is.null"), (Titles_{"delta"}));
  EXPECT_EQ(titles("pages=is.not_null"), (Titles_{"Beta", "alpha", "gamma ray"}));
  EXPECT_EQ(titles("published=is.true"), (Titles_{"alpha", "gamma ray"}));
  EXPECT_EQ(titles("published=is.false"), (Titles_{"Beta", "delta"}));
  EXPECT_EQ(titles("published=eq.true"), (Titles_{"alpha", "gamma ray"}));
  EXPECT_EQ(titles("published_at=gt.2026-03-01T00:00:00Z"), (Titles_{"gamma ray"}));
  EXPECT_EQ(titles("due=lt.2026-02-15"), (Titles_{"alpha"}));
  EXPECT_EQ(titles("title=not.eq.alpha"), (Titles_{"Beta", "delta", "gamma ray"}));
  EXPECT_EQ(titles("title=not.in.(alpha,Beta)"), (Titles_{"delta", "gamma ray"}));
  EXPECT_EQ(titles("or=(pages.eq.1,pages.eq.10)"), (Titles_{"alpha", "gamma ray"}));
  EXPECT_EQ(titles("or=(title.eq.delta,and(pages.gt.1,published.is.false))"), (Titles_{"Beta", "delta"}));
  EXPECT_EQ(titles("and=(pages.gte.1,pages.lte.5)"), (Titles_{"Beta", "alpha"}));
  EXPECT_EQ(titles("pages=gte.1&published=is.true"), (Titles_{"alpha", "gamma ray"}));
  EXPECT_EQ(titles("code=eq.A1"), (Titles_{"alpha"}));

  // order, limit, offset, select.
  TestResponse ordered = env->Get("/api/v1/documents?order=pages.desc.nullslast&select=title,pages", env->key_a);
  ASSERT_EQ(ordered.status, 200) << ordered.body;
  std::vector<std::string> seq;
  const json ordered_items = ordered.Json()["items"];
  for (const auto& r : ordered_items) {
    seq.push_back(r["title"]);
    EXPECT_EQ(r.size(), 2u) << r.dump();
  }
  EXPECT_EQ(seq, (Titles_{"gamma ray", "Beta", "alpha", "delta"})) << ordered.body;
  TestResponse nullsfirst = env->Get("/api/v1/documents?order=pages.asc.nullsfirst&limit=1", env->key_a);
  EXPECT_EQ(nullsfirst.Json()["items"][0]["title"], "delta");
  TestResponse page = env->Get("/api/v1/documents?order=pages.asc.nullslast&limit=2&offset=1", env->key_a,
                               {{"Prefer", "count=exact"}});
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.Json()["items"].size(), 2u);
  EXPECT_EQ(page.Json()["items"][0]["title"], "Beta");
  EXPECT_EQ(page.Header("content-range"), "1-2/4");
  EXPECT_EQ(page.Json()["total"], 4);
  EXPECT_EQ(page.Header("preference-applied"), "count=exact");
  TestResponse none = env->Get("/api/v1/documents?title=eq.zzz", env->key_a, {{"Prefer", "count=exact"}});
  EXPECT_EQ(none.Header("content-range"), "*/0");

  // Keyset pagination: following next_cursor visits every row exactly once.
  std::vector<std::string> walked;
  std::string target = "/api/v1/documents?limit=1&order=title.asc";
  for (int guard = 0; guard < 10 && !target.empty(); ++guard) {
    TestResponse r = env->Get(target, env->key_a);
    ASSERT_EQ(r.status, 200) << r.body;
    json j = r.Json();
    for (const auto& row : j["items"]) walked.push_back(row["title"]);
    target = j["next"].is_string() ? j["next"].get<std::string>() : std::string();
    if (j["next_cursor"].is_null()) EXPECT_TRUE(target.empty());
  }
  EXPECT_EQ(walked, (Titles_{"Beta", "alpha", "delta", "gamma ray"}));
}

TEST_P(ServeCases, InvalidQueriesAreBadRequestsNamingTheParameter) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  auto bad = [&](const std::string& query, const std::string& field) {
    json p = Problem(env->Get("/api/v1/documents?" + query, env->key_a), 400);
    EXPECT_TRUE(ErrorFields(p).count(field)) << query << " → " << p.dump();
  };
  bad("titel=eq.x", "titel");
  bad("pages=eq.many", "pages");
  bad("pages=near.3", "pages");
  bad("status=eq.lost", "status");
  bad("metadata=eq.1", "metadata");
  bad("internal=eq.x", "internal");
  bad("secret_note=eq.x", "secret_note");
  bad("limit=0", "limit");
  bad("limit=100000", "limit");
  bad("order=nope.desc", "order");
  bad("select=title,nope", "select");
  bad("or=(pages.eq.1", "or");
  json two = Problem(env->Get("/api/v1/documents?titel=eq.x&pages=eq.y", env->key_a), 400);
  EXPECT_EQ(ErrorFields(two), (std::set<std::string>{"titel", "pages"})) << "every problem is reported at once";
  json badid = Problem(env->Get("/api/v1/documents/not-a-uuid", env->key_a), 400);
  EXPECT_TRUE(ErrorFields(badid).count("id")) << badid.dump();
  Problem(env->Get("/api/v1/documents?title=%zz", env->key_a), 400);
}

TEST_P(ServeCases, BodiesAreValidatedBeforeAnyDatabaseWork) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  auto invalid = [&](const std::string& body, std::set<std::string> fields) {
    json p = Problem(env->Post("/api/v1/documents", env->key_a, body), 422);
    EXPECT_EQ(ErrorFields(p), fields) << body << " → " << p.dump();
  };
  invalid(R"({"title":"x","colour":"red"})", {"colour"});
  invalid(R"({"title":5})", {"title"});
  invalid(R"({"pages":1})", {"title"});
  invalid(R"({"title":")" + std::string(201, 'x') + R"("})", {"title"});
  invalid(R"({"title":"x","pages":99999999999})", {"pages"});
  invalid(R"({"title":"x","status":"lost"})", {"status"});
  invalid(R"({"title":"x","user_id":"nope"})", {"user_id"});
  invalid(R"({"title":"x","price":"1.234"})", {"price"});
  invalid(R"({"title":"x","published_at":"yesterday"})", {"published_at"});
  invalid(R"({"title":"x","due":"2026-13-01"})", {"due"});
  invalid(R"({"title":"x","tenant_id":")" + env->tenant_b + R"("})", {"tenant_id"});
  invalid(R"({"title":"x","created_at":"2026-01-01T00:00:00Z"})", {"created_at"});
  invalid(R"({"title":"x","internal":"y"})", {"internal"});
  invalid(R"({"title":null})", {"title"});
  invalid(R"({"colour":1,"title":2,"pages":"x"})", {"colour", "title", "pages"});
  // Not JSON / not an object: 400.
  Problem(env->Post("/api/v1/documents", env->key_a, "{\"title\":"), 400);
  Problem(env->Post("/api/v1/documents", env->key_a, "[1,2]"), 400);
  Problem(env->Post("/api/v1/documents", env->key_a, std::string(200, '[') + std::string(200, ']')), 400);
  // PATCH: at least one field, the key cannot change.
  const std::string id = env->CreateDocument(env->key_a, R"({"title":"t"})");
  Problem(env->Patch("/api/v1/documents/" + id, env->key_a, "{}"), 422);
  json key = Problem(env->Patch("/api/v1/documents/" + id, env->key_a, R"({"id":"aaaaaaaa-0000-4000-8000-000000000009"})"), 422);
  EXPECT_TRUE(ErrorFields(key).count("id"));
  // Another media type is refused.
  Problem(env->Post("/api/v1/documents", env->key_a, "title=x", {{"Content-Type", "application/x-www-form-urlencoded"}}), 415);
  // Nothing was written by any of these.
  TestResponse list = env->Get("/api/v1/documents", env->key_a);
  EXPECT_EQ(list.Json()["items"].size(), 1u);
}

TEST_P(ServeCases, ConstraintViolationsAreConflictsNamingTheConstraint) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  ASSERT_FALSE(env->CreateDocument(env->key_a, R"({"title":"one","code":"C1"})").empty());
  json dup = Problem(env->Post("/api/v1/documents", env->key_a, R"({"title":"two","code":"C1"})"), 409);
  EXPECT_NE(dup.dump().find("code"), std::string::npos) << dup.dump();
  // The same code in another tenant is fine: unique keys lead with the tenant.
  EXPECT_FALSE(env->CreateDocument(env->key_b, R"({"title":"two","code":"C1"})").empty());
  json check = Problem(env->Post("/api/v1/documents", env->key_a, R"({"title":"   "})"), 409);
  EXPECT_NE(check.dump().find("title"), std::string::npos) << check.dump();
  json negative = Problem(env->Post("/api/v1/documents", env->key_a, R"({"title":"n","pages":-1})"), 409);
  EXPECT_NE(negative.dump().find("pages"), std::string::npos) << negative.dump();
  json fk = Problem(env->Post("/api/v1/documents", env->key_a,
                              R"({"title":"fk","user_id":"aaaaaaaa-0000-4000-8000-00000000dead"})"),
                    409);
  EXPECT_NE(fk.dump().find("user"), std::string::npos) << fk.dump();
}

TEST_P(ServeCases, AuthFailures) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  TestResponse none = env->Get("/api/v1/documents");
  Problem(none, 401);
  EXPECT_EQ(none.Header("www-authenticate"), "Bearer realm=\"plinth\"");
  TestResponse basic = env->Get("/api/v1/documents", {}, {{"Authorization", "Basic dXNlcjpwYXNz"}});
  Problem(basic, 401);
  EXPECT_NE(basic.Header("www-authenticate").find("invalid_token"), std::string::npos);
  // A well-formed key that was never issued, a mistyped key, garbage, an expired and a revoked key.
  auto fresh = crypto::ApiKeyHasher::Create().value().Generate();
  Problem(env->Get("/api/v1/documents", fresh.key), 401);
  std::string typo = env->key_a;
  typo[10] = typo[10] == 'a' ? 'b' : 'a';
  Problem(env->Get("/api/v1/documents", typo), 401);
  Problem(env->Get("/api/v1/documents", "not-a-token"), 401);
  auth::ApiKeySpec expired;
  expired.tenant_id = env->tenant_a;
  expired.user_id = env->admin_a;
  expired.expires_at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::hours(1);
  auto ek = env->MakeKey(expired);
  ASSERT_TRUE(ek.ok()) << ek.status().ToString();
  Problem(env->Get("/api/v1/documents", ek->key), 401);
  auth::ApiKeySpec to_revoke;
  to_revoke.tenant_id = env->tenant_a;
  to_revoke.user_id = env->admin_a;
  auto rk = env->MakeKey(to_revoke);
  ASSERT_TRUE(rk.ok());
  EXPECT_EQ(env->Get("/api/v1/documents", rk->key).status, 200);
  {
    auto conn = env->Admin();
    Diagnostics diags;
    auto cfg = auth::LoadAuthConfig(ServeSchemaPath(), env->schema(), diags);
    ASSERT_TRUE(auth::RevokeApiKey(*conn, env->schema(), *cfg, rk->id).ok());
  }
  // Revocation is visible within about a second (PostgreSQL NOTIFY; SQLite cache TTL).
  int status = 0;
  for (int i = 0; i < 40; ++i) {
    status = env->Get("/api/v1/documents", rk->key).status;
    if (status == 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 401);
  // A key that may only be used from another network: 403.
  auth::ApiKeySpec fenced;
  fenced.tenant_id = env->tenant_a;
  fenced.user_id = env->admin_a;
  fenced.allowed_ips = {"10.0.0.0/8"};
  auto fk = env->MakeKey(fenced);
  ASSERT_TRUE(fk.ok()) << fk.status().ToString();
  Problem(env->Get("/api/v1/documents", fk->key), 403);
  // Tokens: garbage, and a token signed with another secret.
  Problem(env->Get("/api/v1/documents", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), 401);
}

TEST_P(ServeCases, LoginRefreshLogoutAndMe) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  // Wrong password and unknown user answer alike.
  json wrong = Problem(env->Post("/api/v1/auth/login", {}, R"({"login":"alice@a.example","password":"nope-nope-nope-nope"})"), 401);
  json unknown = Problem(env->Post("/api/v1/auth/login", {}, R"({"login":"nobody@a.example","password":"nope-nope-nope-nope"})"), 401);
  EXPECT_EQ(wrong.value("detail", ""), unknown.value("detail", ""));
  json missing = Problem(env->Post("/api/v1/auth/login", {}, R"({"login":"alice@a.example"})"), 422);
  EXPECT_TRUE(ErrorFields(missing).count("password"));
  Problem(env->Post("/api/v1/auth/login", {}, "not json"), 400);

  TestResponse login = env->Post("/api/v1/auth/login", {}, R"({"login":"Alice@A.example","password":")" + std::string(kPassword) + R"("})");
  ASSERT_EQ(login.status, 200) << login.body;
  json tokens = login.Json();
  const std::string access = tokens["access_token"];
  const std::string refresh = tokens["refresh_token"];
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_GT(tokens["expires_in"].get<int>(), 0);
  EXPECT_EQ(tokens["principal"]["tenant_id"], env->tenant_a);

  TestResponse me = env->Get("/api/v1/auth/me", access);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["user_id"], env->admin_a);
  EXPECT_EQ(me.Json()["tenant_id"], env->tenant_a);
  EXPECT_EQ(me.Json()["role"], "admin");
  TestResponse me_key = env->Get("/api/v1/auth/me", env->key_b);
  ASSERT_EQ(me_key.status, 200);
  EXPECT_EQ(me_key.Json()["kind"], "api_key");
  EXPECT_EQ(me_key.Json()["tenant_id"], env->tenant_b);
  // The access token works on the resources under the user's policies.
  EXPECT_FALSE(env->CreateDocument(access, R"({"title":"by token"})").empty());

  TestResponse refreshed = env->Post("/api/v1/auth/refresh", {}, R"({"refresh_token":")" + refresh + R"("})");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  const std::string access2 = refreshed.Json()["access_token"];
  EXPECT_EQ(env->Get("/api/v1/auth/me", access2).status, 200);
  // A refresh token is single-use; reusing it revokes the family.
  Problem(env->Post("/api/v1/auth/refresh", {}, R"({"refresh_token":")" + refresh + R"("})"), 401);
  int after_reuse = 0;
  for (int i = 0; i < 30; ++i) {
    after_reuse = env->Get("/api/v1/auth/me", access2).status;
    if (after_reuse == 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(after_reuse, 401);

  // Logout ends the session of a new login.
  TestResponse again = env->Post("/api/v1/auth/login", {}, R"({"login":"adam@a.example","password":")" + std::string(kPassword) + R"("})");
  ASSERT_EQ(again.status, 200) << again.body;
  const std::string access3 = again.Json()["access_token"];
  EXPECT_EQ(env->Post("/api/v1/auth/logout", access3, "").status, 204);
  int after_logout = 0;
  for (int i = 0; i < 30; ++i) {
    after_logout = env->Get("/api/v1/auth/me", access3).status;
    if (after_logout == 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(after_logout, 401);
  Problem(env->Post("/api/v1/auth/logout", env->key_a, ""), 400);
  Problem(env->Post("/api/v1/auth/logout", {}, ""), 401);
  Problem(env->Get("/api/v1/auth/login"), 405);
}

TEST_P(ServeCases, CrossTenantRequestsThroughEveryRoute) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  const std::string doc_a = env->CreateDocument(env->key_a, R"({"title":"A's secret","code":"X"})");
  ASSERT_FALSE(doc_a.empty());
  const std::string doc_b = env->CreateDocument(env->key_b, R"({"title":"B's own"})");
  // Every item route on A's row, as B: 404, exactly like a missing row.
  Problem(env->Get("/api/v1/documents/aaaaaaaa-0000-4000-8000-00000000ffff", env->key_b), 404);
  json cross = Problem(env->Get("/api/v1/documents/" + doc_a, env->key_b), 404);
  EXPECT_EQ(cross.dump().find(env->tenant_a), std::string::npos) << "nothing about the other tenant leaks";
  Problem(env->Patch("/api/v1/documents/" + doc_a, env->key_b, R"({"title":"mine now"})"), 404);
  Problem(env->Delete("/api/v1/documents/" + doc_a, env->key_b), 404);
  EXPECT_EQ(env->Get("/api/v1/documents/" + doc_a, env->key_a).Json()["title"], "A's secret");
  // Lists, filters and counts never show A's rows to B.
  EXPECT_EQ(Titles(env->Get("/api/v1/documents", env->key_b)), (Titles_{"B's own"}));
  EXPECT_TRUE(Titles(env->Get("/api/v1/documents?title=eq.A%27s%20secret", env->key_b)).empty());
  EXPECT_EQ(env->Get("/api/v1/documents?code=eq.X", env->key_b, {{"Prefer", "count=exact"}}).Header("content-range"), "*/0");
  // Writing into A's tenant is impossible: the tenant column is not accepted, and a reference
  // to A's user fails like a reference to no user.
  Problem(env->Post("/api/v1/documents", env->key_b, R"({"title":"t","tenant_id":")" + env->tenant_a + R"("})"), 422);
  json fk_cross = Problem(env->Post("/api/v1/documents", env->key_b, R"({"title":"t","user_id":")" + env->admin_a + R"("})"), 409);
  json fk_none = Problem(env->Post("/api/v1/documents", env->key_b,
                                   R"({"title":"t","user_id":"aaaaaaaa-0000-4000-8000-00000000dead"})"),
                         409);
  EXPECT_EQ(fk_cross.value("detail", ""), fk_none.value("detail", ""));
  // B's unique key does not collide with A's: no side channel.
  EXPECT_FALSE(env->CreateDocument(env->key_b, R"({"title":"t","code":"X"})").empty());
  // Upsert of A's id as B creates B's own row; A's row is untouched.
  EXPECT_EQ(env->Post("/api/v1/documents", env->key_b, R"({"id":")" + doc_a + R"(","title":"overwrite?"})",
                      {{"Prefer", "resolution=merge-duplicates"}})
                .status,
            201);
  EXPECT_EQ(env->Get("/api/v1/documents/" + doc_a, env->key_a).Json()["title"], "A's secret");
  // The other tables: users, keys, tenants, notices, events.
  for (const std::string table : {"users", "api_keys", "tenants", "notices", "events"}) {
    TestResponse r = env->Get("/api/v1/" + table, env->key_b);
    ASSERT_EQ(r.status, 200) << table << ": " << r.body;
    const json items = r.Json()["items"];
    for (const auto& row : items) {
      const std::string tenant = row.contains("tenant_id") ? row["tenant_id"] : row["id"];
      EXPECT_EQ(tenant, env->tenant_b) << table << ": " << row.dump();
    }
  }
  Problem(env->Get("/api/v1/users/" + env->admin_a, env->key_b), 404);
  Problem(env->Patch("/api/v1/users/" + env->admin_a, env->key_b, R"({"email":"x@b.example"})"), 404);
  Problem(env->Delete("/api/v1/users/" + env->admin_a, env->key_b), 404);
  Problem(env->Get("/api/v1/tenants/" + env->tenant_a, env->key_b), 404);
  (void)doc_b;
}

TEST_P(ServeCases, WritesAreAuditedInTheirTransactionWithTheRequest) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  const Headers ua = {{"User-Agent", "serve-audit-test/1"}};
  auto with_id = [&](const std::string& id) {
    Headers h = ua;
    h.emplace_back("X-Request-Id", id);
    return h;
  };
  TestResponse created =
      env->Post("/api/v1/documents", env->key_a, R"({"title":"audited","code":"AU","secret_note":"hush"})", with_id("audit-post-1"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("x-request-id"), "audit-post-1") << "a client's request id is kept";
  const std::string id = created.Json().value("id", std::string());
  ASSERT_EQ(env->Patch("/api/v1/documents/" + id, env->key_a, R"({"title":"renamed"})", with_id("audit-patch-1")).status, 200);
  // Refused writes leave no audit row: a unique conflict (the database refuses the statement
  // after the audit row was queued in the same transaction) and a row of another tenant.
  Problem(env->Post("/api/v1/documents", env->key_a, R"({"title":"dup","code":"AU"})", with_id("audit-conflict-1")), 409);
  Problem(env->Patch("/api/v1/documents/" + id, env->key_b, R"({"title":"theirs"})", with_id("audit-cross-1")), 404);
  ASSERT_EQ(env->Call("DELETE", "/api/v1/documents/" + id, env->key_a, {}, with_id("audit-delete-1")).status, 204);

  auto conn = env->Admin();
  ASSERT_TRUE(conn);
  auto rows = conn->Query(
      "SELECT request_id, action, table_name, row_key, tenant_id, principal_kind, credential_id, ip, user_agent, changes "
      "FROM plinth_audit WHERE request_id LIKE 'audit-%' ORDER BY seq");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<std::string> seen;
  for (const auto& r : rows->rows) {
    ASSERT_EQ(r.size(), 10u);
    seen.push_back(r[0].value_or("NULL") + " " + r[1].value_or("NULL") + " " + r[2].value_or("NULL"));
    EXPECT_EQ(r[3].value_or(""), id) << seen.back();
    EXPECT_EQ(r[4].value_or(""), env->tenant_a) << seen.back();
    EXPECT_FALSE(r[6].value_or("").empty()) << "the audit row names the credential: " << seen.back();
    EXPECT_EQ(r[7].value_or(""), "127.0.0.1") << seen.back();
    EXPECT_EQ(r[8].value_or(""), "serve-audit-test/1") << seen.back();
    EXPECT_EQ(r[9].value_or("").find("hush"), std::string::npos) << "write-only values are not copied into the audit log";
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"audit-post-1 insert documents", "audit-patch-1 update documents",
                                            "audit-delete-1 delete documents"}));
  // Nothing of the refused insert was committed either.
  auto dup = conn->Query("SELECT count(*) FROM documents WHERE title = 'dup'");
  ASSERT_TRUE(dup.ok()) << dup.status().ToString();
  EXPECT_EQ(dup->rows[0][0].value_or(""), "0");
}

TEST_P(ServeCases, CorsAndAccessLogFollowTheSettings) {
  TempDir logs;
  const std::string log_path = logs / "access.log";
  auto env = Env([&](api::ServeConfig& c) {
    c.allowed_origins = "https://app.example, https://admin.example";
    c.access_log = log_path;
  });
  ASSERT_TRUE(env->ok());
  // A browser's preflight for a write with credentials in a header.
  TestResponse pre = env->Call("OPTIONS", "/api/v1/documents", {}, {},
                               {{"Origin", "https://admin.example"},
                                {"Access-Control-Request-Method", "POST"},
                                {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.Header("access-control-allow-origin"), "https://admin.example");
  EXPECT_NE(pre.Header("access-control-allow-methods").find("POST"), std::string::npos) << pre.Header("access-control-allow-methods");
  EXPECT_NE(pre.Header("access-control-allow-headers").find("Authorization"), std::string::npos);
  // An origin that is not listed gets no CORS grant (and the preflight is refused).
  TestResponse evil = env->Call("OPTIONS", "/api/v1/documents", {}, {},
                                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(evil.status, 403);
  EXPECT_TRUE(evil.Header("access-control-allow-origin").empty());
  // The actual request carries the grant and exposes the headers a client reads.
  TestResponse got = env->Get("/api/v1/documents", env->key_a, {{"Origin", "https://app.example"}, {"X-Request-Id", "log-list-1"}});
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Header("access-control-allow-origin"), "https://app.example");
  EXPECT_NE(got.Header("access-control-expose-headers").find("Content-Range"), std::string::npos)
      << got.Header("access-control-expose-headers");
  TestResponse not_listed = env->Get("/api/v1/documents", env->key_a, {{"Origin", "https://evil.example"}});
  EXPECT_EQ(not_listed.status, 200);
  EXPECT_TRUE(not_listed.Header("access-control-allow-origin").empty());
  Problem(env->Get("/api/v1/documents", {}, {{"X-Request-Id", "log-denied-1"}}), 401);

  env->StopServer();  // flushes the access log
  std::ifstream in(log_path);
  std::map<std::string, json> by_id;
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not one JSON object: " << line;
    by_id[j.value("request_id", std::string())] = j;
  }
  EXPECT_EQ(lines, 5) << "one line per request";
  ASSERT_TRUE(by_id.count("log-list-1"));
  const json& l = by_id["log-list-1"];
  EXPECT_EQ(l["method"], "GET");
  EXPECT_EQ(l["route"], "/api/v1/documents");
  EXPECT_EQ(l["status"], 200);
  EXPECT_TRUE(l["duration_ms"].is_number());
  EXPECT_EQ(l["remote_ip"], "127.0.0.1");
  EXPECT_TRUE(l["principal"].is_string()) << l.dump();
  EXPECT_EQ(l["principal"].get<std::string>().find(env->key_a), std::string::npos) << "the key itself is never logged";
  ASSERT_TRUE(by_id.count("log-denied-1"));
  EXPECT_EQ(by_id["log-denied-1"]["status"], 401);
  EXPECT_TRUE(by_id["log-denied-1"]["principal"].is_null());
}

TEST_P(ServeCases, PerKeyRateLimit) {
  auto env = Env([](api::ServeConfig& c) { c.key_rate_limit = {0.5, 3}; });
  ASSERT_TRUE(env->ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(env->Get("/api/v1/documents", env->key_a).status, 200);
  TestResponse limited = env->Get("/api/v1/documents", env->key_a);
  Problem(limited, 429);
  EXPECT_GE(std::stoi(limited.Header("retry-after")), 1);
  // Another key has its own bucket.
  EXPECT_EQ(env->Get("/api/v1/documents", env->key_b).status, 200);
  const std::string m = env->server().RenderMetrics();
  EXPECT_NE(m.find("plinth_rate_limit_decisions_total{limiter=\"key\",decision=\"limited\"} 1"), std::string::npos) << m;
}

TEST_P(ServeCases, PerIpAndLoginRateLimits) {
  // Refill rates so slow that no token comes back during the test, however slow the build:
  // three requests per IP, two login attempts per IP.
  auto env = Env([](api::ServeConfig& c) {
    c.ip_rate_limit = {0.01, 3};
    c.login_rate_limit = {0.01, 2};
  });
  ASSERT_TRUE(env->ok());
  const std::string body = R"({"login":"alice@a.example","password":"wrong-wrong-wrong-wrong"})";
  EXPECT_EQ(env->Post("/api/v1/auth/login", {}, body).status, 401);
  EXPECT_EQ(env->Post("/api/v1/auth/login", {}, body).status, 401);
  // The third login passes the IP limiter (its third token) and is refused by the login limiter.
  TestResponse limited = env->Post("/api/v1/auth/login", {}, body);
  Problem(limited, 429);
  EXPECT_GE(std::stoi(limited.Header("retry-after")), 1);
  // The IP's bucket is empty now: every route is refused, before routing.
  TestResponse r = env->Get("/health/live");
  Problem(r, 429);
  EXPECT_GE(std::stoi(r.Header("retry-after")), 1);
  const std::string m = env->server().RenderMetrics();
  EXPECT_NE(m.find("plinth_rate_limit_decisions_total{limiter=\"login\",decision=\"limited\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("plinth_rate_limit_decisions_total{limiter=\"ip\",decision=\"limited\"} 1"), std::string::npos) << m;
}

TEST_P(ServeCases, RequestLimits) {
  auto env = Env([](api::ServeConfig& c) {
    c.max_body_bytes = 1024;
    c.max_header_bytes = 2048;
  });
  ASSERT_TRUE(env->ok());
  TestResponse big = env->Post("/api/v1/documents", env->key_a, R"({"title":")" + std::string(2000, 'x') + R"("})");
  Problem(big, 413);
  TestResponse header = env->Get("/api/v1/documents", env->key_a, {{"X-Padding", std::string(4000, 'p')}});
  Problem(header, 431);
  EXPECT_EQ(env->Get("/api/v1/documents", env->key_a).status, 200);
}

TEST_P(ServeCases, HealthAndMetrics) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  TestResponse live = env->Get("/health/live");
  ASSERT_EQ(live.status, 200);
  EXPECT_EQ(live.Json()["status"], "ok");
  TestResponse ready = env->Get("/health/ready");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.Json()["migration_version"], "0001");
  TestResponse dbh = env->Get("/api/v1/system/health/database");
  ASSERT_EQ(dbh.status, 200) << dbh.body;
  json d = dbh.Json();
  EXPECT_EQ(d["status"], "healthy");
  EXPECT_EQ(d["message"], "Database connection successful");
  EXPECT_EQ(d["database_type"], GetParam());
  EXPECT_EQ(d["connected"], true);
  EXPECT_TRUE(d["latency_ms"].is_number());
  EXPECT_EQ(d["database_url"].get<std::string>().find("secret"), std::string::npos);
  TestResponse comp = env->Get("/api/v1/system/health/comprehensive");
  ASSERT_EQ(comp.status, 200) << comp.body;
  json c = comp.Json();
  EXPECT_EQ(c["status"], "healthy");
  for (const char* k : {"backend", "database", "pools", "migrations"}) {
    ASSERT_TRUE(c["components"].contains(k)) << k;
    EXPECT_EQ(c["components"][k]["status"], "healthy") << k;
  }
  const std::string id = env->CreateDocument(env->key_a, R"({"title":"m"})");
  EXPECT_EQ(env->Get("/api/v1/documents/" + id, env->key_a).status, 200);
  EXPECT_EQ(env->Get("/api/v1/documents/aaaaaaaa-0000-4000-8000-00000000ffff", env->key_a).status, 404);
  TestResponse metrics = env->Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.Header("content-type").find("text/plain"), std::string::npos);
  const std::string& m = metrics.body;
  for (const char* want : {
           "plinth_http_requests_total{method=\"GET\",route=\"/api/v1/documents/{id}\",status=\"200\"} 1",
           "plinth_http_requests_total{method=\"GET\",route=\"/api/v1/documents/{id}\",status=\"404\"} 1",
           "plinth_http_requests_total{method=\"POST\",route=\"/api/v1/documents\",status=\"201\"} 1",
           "plinth_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/documents/{id}\",le=\"+Inf\"} 2",
           "plinth_db_pool_connections{state=\"in_use\"}",
           "plinth_db_pool_connections{state=\"idle\"}",
           "plinth_db_pool_connections{state=\"waiting\"}",
           "plinth_db_round_trip_seconds_avg",
           "plinth_db_pool_events_total{event=\"group_commits\"}",
           "plinth_db_pool_events_total{event=\"checkpoints\"}",
           "plinth_db_call_duration_seconds_count{operation=\"get\"} 2",
           "plinth_audit_rows_total{table=\"documents\",action=\"insert\"} 1",
           "plinth_rate_limit_decisions_total{limiter=\"key\",decision=\"allowed\"}",
           "plinth_auth_events_total{event=\"key_cache_hit\"}",
       }) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
}

TEST_P(ServeCases, OpenApiAndDocs) {
  auto env = Env();
  ASSERT_TRUE(env->ok());
  TestResponse oa = env->Get("/openapi.json");
  ASSERT_EQ(oa.status, 200);
  json doc = json::parse(oa.body, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 3), "3.1");
  for (const char* path : {"/api/v1/documents", "/api/v1/documents/{id}", "/api/v1/auth/login", "/health/ready"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
  EXPECT_FALSE(doc["paths"].contains("/api/v1/internal_jobs"));
  TestResponse docs = env->Get("/docs");
  ASSERT_EQ(docs.status, 200);
  EXPECT_NE(docs.Header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(docs.body.find("documents"), std::string::npos);
}

TEST_P(ServeCases, DeadlineIs504AndTheServerStaysUsable) {
  auto env = Env([](api::ServeConfig& c) { c.request_timeout = std::chrono::milliseconds(400); });
  ASSERT_TRUE(env->ok());
  const std::string id = env->CreateDocument(env->key_a, R"({"title":"locked"})");
  auto conn = env->Admin();
  ASSERT_TRUE(conn);
  // Hold a lock that the request's statement must wait for.
  if (env->pg()) {
    ASSERT_TRUE(conn->Exec("BEGIN").ok());
    ASSERT_TRUE(conn->Exec("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE").ok());
  } else {
    ASSERT_TRUE(conn->Exec("BEGIN IMMEDIATE").ok());
  }
  const auto start = std::chrono::steady_clock::now();
  TestResponse r = env->pg() ? env->Get("/api/v1/documents/" + id, env->key_a)
                             : env->Post("/api/v1/documents", env->key_a, R"({"title":"waits"})");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.status == 504 || r.status == 503) << r.status << " " << r.body;
  Problem(r, r.status);
  EXPECT_LT(took, std::chrono::seconds(3)) << "never a hang";
  ASSERT_TRUE(conn->Exec("ROLLBACK").ok());
  EXPECT_EQ(env->Get("/api/v1/documents/" + id, env->key_a).status, 200);
}

TEST_P(ServeCases, AuthSwitchedOffActsAsTheDefaultTenant) {
  // The tenants exist before the server starts (ENABLE_AUTH=false resolves DEFAULT_TENANT then).
  auto env = Env();
  ASSERT_TRUE(env->ok());
  ASSERT_FALSE(env->CreateDocument(env->key_a, R"({"title":"a doc"})").empty());
  ASSERT_FALSE(env->CreateDocument(env->key_b, R"({"title":"b doc"})").empty());
  env->StopServer();
  api::ServeConfig c = env->config();
  c.enable_auth = false;
  c.default_tenant = "a";
  std::ostringstream out;
  auto srv = api::ApiServer::Create(c, out);
  ASSERT_TRUE(srv.ok()) << srv.status().ToString();
  (*srv)->Start();
  EXPECT_NE(out.str().find("ENABLE_AUTH=false"), std::string::npos);
  TestClient client((*srv)->port());
  auto r = client.Request("GET", "/api/v1/documents");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Titles(*r), (Titles_{"a doc"}));
  auto created = client.Request("POST", "/api/v1/documents", {{"Content-Type", "application/json"}}, R"({"title":"anon"})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(json::parse(created->body)["tenant_id"], env->tenant_a);
  auto login = client.Request("POST", "/api/v1/auth/login", {{"Content-Type", "application/json"}}, "{}");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 404);
  (*srv)->Stop();
}

TEST_P(ServeCases, GracefulShutdownFinishesRequestsInFlight) {
  auto env = Env([](api::ServeConfig& c) { c.shutdown_grace = std::chrono::seconds(10); });
  ASSERT_TRUE(env->ok());
  auto conn = env->Admin();
  ASSERT_TRUE(conn);
  // Writes wait behind a lock held outside the server, so they are in flight when the stop begins.
  if (env->pg()) {
    ASSERT_TRUE(conn->Exec("BEGIN").ok());
    ASSERT_TRUE(conn->Exec("LOCK TABLE documents IN EXCLUSIVE MODE").ok());
  } else {
    ASSERT_TRUE(conn->Exec("BEGIN IMMEDIATE").ok());
  }
  constexpr int kInFlight = 6;
  std::vector<std::future<int>> results;
  for (int i = 0; i < kInFlight; ++i) {
    results.push_back(std::async(std::launch::async, [&env, i] {
      return env->Post("/api/v1/documents", env->key_a, R"({"title":"in flight )" + std::to_string(i) + R"("})").status;
    }));
  }
  const std::string want = "plinth_http_requests_in_flight " + std::to_string(kInFlight);
  bool all_in = false;
  for (int i = 0; i < 100 && !all_in; ++i) {
    all_in = env->server().RenderMetrics().find(want) != std::string::npos;
    if (!all_in) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(all_in) << env->server().RenderMetrics();
  auto stopping = std::async(std::launch::async, [&env] { env->StopServer(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Stopped accepting: a new connection is refused while the old requests are still waiting.
  TestClient late(env->port());
  EXPECT_FALSE(late.connected() && late.Request("GET", "/health/live").has_value());
  ASSERT_TRUE(conn->Exec(env->pg() ? "COMMIT" : "COMMIT").ok());
  for (auto& f : results) EXPECT_EQ(f.get(), 201) << "no request in flight is dropped";
  stopping.get();
  auto check = env->Admin();
  auto count = check->Query("SELECT count(*) FROM documents WHERE title LIKE 'in flight %'");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(count->rows[0][0].value_or(""), std::to_string(kInFlight));
}

}  // namespace plinth::testing
