// The cases of auth_cli_cases.h, compiled once into the layer's cases library and run by both
// test binaries (SQLite and PostgreSQL).
#include "cli/auth_cli_cases.h"

namespace plinth::cli::testing {

void CaseSeedSettingsTwice(const std::string& backend) {
  AuthCliApp app(backend, "settings");
  app.Ok({"migrate", "up"});
  RunResult first = app.Ok({"seed"});
  EXPECT_THAT(first.out, HasSubstr("39 inserted, 0 updated, 0 unchanged")) << Show(first);
  auto c = app.Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(One(*c, "SELECT count(*) FROM roles WHERE is_system_role"), "4");
  EXPECT_EQ(One(*c, "SELECT count(*) FROM permissions"), "13");
  EXPECT_EQ(One(*c, "SELECT count(*) FROM role_permissions"), "22");
  // The admin role holds all 13; the viewer only settings:read.
  EXPECT_EQ(One(*c, "SELECT count(*) FROM role_permissions rp JOIN roles r ON r.id = rp.role_id WHERE r.name = 'admin'"), "13");
  EXPECT_EQ(One(*c, "SELECT p.resource || ':' || p.action FROM role_permissions rp JOIN roles r ON r.id = rp.role_id "
                    "JOIN permissions p ON p.id = rp.permission_id WHERE r.name = 'viewer'"),
            "settings:read");
  const std::string roles = Dump(*c, "roles", "name");
  const std::string perms = Dump(*c, "permissions", "resource, action");
  const std::string grants = Dump(*c, "role_permissions", "role_id, permission_id");
  RunResult second = app.Ok({"seed"});
  EXPECT_THAT(second.out, HasSubstr("0 inserted, 0 updated, 39 unchanged")) << Show(second);
  EXPECT_EQ(Dump(*c, "roles", "name"), roles);
  EXPECT_EQ(Dump(*c, "permissions", "resource, action"), perms);
  EXPECT_EQ(Dump(*c, "role_permissions", "role_id, permission_id"), grants);
}

void CaseSeedCuratoreAdmin(const std::string& backend) {
  AuthCliApp app(backend, "curatore");
  app.Ok({"migrate", "up"});
  auto c = app.Connect();
  ASSERT_TRUE(c);
  // Without ADMIN_EMAIL: an error naming it, nothing written.
  RunResult no_email = app.Run({"seed"}, {{"ADMIN_PASSWORD", kStrongPassword}});
  EXPECT_EQ(no_email.exit_code, 1) << Show(no_email);
  EXPECT_THAT(no_email.err, HasSubstr("ADMIN_EMAIL"));
  // A weak password is refused, and the seed's one transaction leaves nothing behind (not even
  // the organisation seeded before the user).
  for (const std::string weak : {"hunter2", "passwordpassword", "aaaaaaaaaaaaaaaaaaaa"}) {
    RunResult r = app.Run({"seed"}, {{"ADMIN_EMAIL", "admin@example.com"}, {"ADMIN_PASSWORD", weak}});
    EXPECT_EQ(r.exit_code, 1) << weak << "\n" << Show(r);
    EXPECT_THAT(r.err, HasSubstr("password")) << weak;
    EXPECT_THAT(r.err, Not(HasSubstr(weak))) << "the error echoes the password";
  }
  RunResult same = app.Run({"seed"}, {{"ADMIN_EMAIL", "administrator@example.com"}, {"ADMIN_PASSWORD", "administrator@example.com"}});
  EXPECT_EQ(same.exit_code, 1) << Show(same);
  EXPECT_THAT(same.err, HasSubstr("equals another value of the account"));
  EXPECT_EQ(One(*c, "SELECT count(*) FROM organizations"), "0");
  const std::map<std::string, std::string> env = {
      {"ADMIN_EMAIL", "admin@example.com"}, {"ADMIN_PASSWORD", kStrongPassword}, {"DEFAULT_ORG_NAME", "Acme Research"}};
  RunResult first = app.Ok({"seed"}, env);
  EXPECT_THAT(first.out, HasSubstr("2 inserted, 0 updated, 0 unchanged"));
  EXPECT_EQ(One(*c, "SELECT name FROM organizations WHERE slug = 'default'"), "Acme Research");
  const std::string hash = One(*c, "SELECT password_hash FROM users WHERE email = 'admin@example.com'");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << hash;
  auto verified = crypto::VerifyPassword(kStrongPassword, hash);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(*verified);
  EXPECT_EQ(One(*c, "SELECT u.role FROM users u JOIN organizations o ON o.id = u.organization_id WHERE o.slug = 'default'"),
            "admin");
  // Twice: nothing changes, the password is not reset even when ADMIN_PASSWORD changes.
  const std::string users = Dump(*c, "users", "id");
  const std::string orgs = Dump(*c, "organizations", "id");
  auto env2 = env;
  env2["ADMIN_PASSWORD"] = "another fine password 77";
  RunResult second = app.Ok({"seed"}, env2);
  EXPECT_THAT(second.out, HasSubstr("0 inserted, 0 updated, 2 unchanged"));
  EXPECT_EQ(Dump(*c, "users", "id"), users);
  EXPECT_EQ(Dump(*c, "organizations", "id"), orgs);
}

// ---- tenants and API keys -----------------------------------------------------------------------

void CaseTenantAndApiKeys(const std::string& backend) {
  AuthCliApp app(backend, "documents");
  app.Ok({"migrate", "up"});
  // The documents seed: the Fintech template, once.
  EXPECT_THAT(app.Ok({"seed"}).out, HasSubstr("1 inserted, 0 updated, 0 unchanged"));
  EXPECT_THAT(app.Ok({"seed"}).out, HasSubstr("0 inserted, 0 updated, 1 unchanged"));
  auto c = app.Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(One(*c, "SELECT category FROM templates WHERE name = 'Fintech Template'"), "fintech");
  EXPECT_EQ(One(*c, "SELECT count(*) FROM templates"), "1");

  // tenant create prints the id (alone with -q).
  RunResult t = app.Ok({"-q", "tenant", "create", "Acme", "--set", "domain=acme.example"});
  const std::string tenant = LastLine(t.out);
  EXPECT_TRUE(std::regex_match(tenant, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"))) << tenant;
  EXPECT_EQ(One(*c, "SELECT name FROM tenants WHERE domain = 'acme.example'"), "Acme");
  EXPECT_EQ(One(*c, (app.pg() ? "SELECT id::text FROM tenants WHERE name = 'Acme'" : "SELECT id FROM tenants WHERE name = 'Acme'")),
            tenant);
  RunResult other = app.Ok({"-q", "tenant", "create", "Globex"});
  const std::string other_tenant = LastLine(other.out);

  // apikey create prints the key once; only its hash is stored.
  RunResult k = app.Ok({"apikey", "create", "--tenant", tenant, "--name", "ci", "--scopes", "documents:read,documents:write",
                        "--expires", "30d"});
  const std::string key = LastLine(k.out);
  auto parts = crypto::ParseApiKey(key);
  ASSERT_TRUE(parts.ok()) << k.out;
  EXPECT_EQ(One(*c, "SELECT count(*) FROM tenant_api_keys WHERE key_hash = " + app.P(1) + " OR key_prefix = " + app.P(2),
                {key, key}),
            "0");
  EXPECT_EQ(One(*c, "SELECT permissions FROM tenant_api_keys WHERE key_prefix = " + app.P(1), {parts->lookup_id}),
            app.pg() ? "[\"documents:read\", \"documents:write\"]" : "[\"documents:read\",\"documents:write\"]");
  EXPECT_NE(One(*c, "SELECT expires_at FROM tenant_api_keys WHERE key_prefix = " + app.P(1), {parts->lookup_id}), "NULL");
  RunResult k2 = app.Ok({"-q", "apikey", "create", "--tenant", other_tenant});
  const std::string other_key = LastLine(k2.out);
  ASSERT_TRUE(crypto::ParseApiKey(other_key).ok()) << k2.out;
  // A key for a tenant-scoped table needs --tenant; a bad scope is a usage error with the fix.
  RunResult no_tenant = app.Run({"apikey", "create"});
  EXPECT_EQ(no_tenant.exit_code, 1);
  EXPECT_THAT(no_tenant.err, HasSubstr("--tenant is required"));
  RunResult bad_scope = app.Run({"apikey", "create", "--tenant", tenant, "--scopes", "documents"});
  EXPECT_EQ(bad_scope.exit_code, 1);
  EXPECT_THAT(bad_scope.err, HasSubstr("RESOURCE:ACTION"));

  // list: the tenant's keys, never a secret.
  RunResult list = app.Ok({"apikey", "list", "--tenant", tenant});
  EXPECT_THAT(list.out, HasSubstr(parts->lookup_id));
  EXPECT_THAT(list.out, HasSubstr("active"));
  EXPECT_THAT(list.out, HasSubstr("documents:read,documents:write"));
  EXPECT_THAT(list.out, Not(HasSubstr(key)));
  EXPECT_THAT(list.out, Not(HasSubstr(parts->secret)));
  EXPECT_THAT(list.out, Not(HasSubstr(crypto::ParseApiKey(other_key)->lookup_id)));
  EXPECT_EQ(CountOf(app.Ok({"apikey", "list"}).out, "active"), 2u);

  // A running server (an authenticator on its own pool) accepts the key; `plinth apikey revoke`
  // in another process makes it refuse the key within one second (PostgreSQL: the key table's
  // trigger notifies; SQLite: one-second cache).
  const schema::Schema s = app.Schema();
  const auth::AuthConfig config = app.AuthConfig(s);
  plinth::testing::IoRunner io;
  auto url = db::ParseUrl(app.url());
  ASSERT_TRUE(url.ok());
  db::PoolOptions po;
  po.size = 2;
  auto database = db::OpenDatabase(io.io(), *url, po);
  ASSERT_TRUE(database.ok()) << database.status().ToString();
  crypto::HashPoolOptions hpo;
  hpo.threads = 1;
  auto pool = crypto::HashPool::Create(hpo);
  ASSERT_TRUE(pool.ok());
  crypto::JwtOptions jo;
  jo.issuer = "plinth-cli-test";
  jo.audience = "documents";
  jo.keys = {{"k1", "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"}};
  jo.current_key_id = "k1";
  auto authn = auth::Authenticator::Create(s, config, **database, **pool, *crypto::ApiKeyHasher::Create(),
                                           *crypto::JwtCodec::Create(jo));
  ASSERT_TRUE(authn.ok()) << authn.status().ToString();
  (*authn)->Start(io.io());
  auto use = [&](const std::string& k) { return io.Await((*authn)->AuthenticateApiKey(k, "127.0.0.1")); };
  auto ok = use(key);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->principal.tenant_id, tenant);
  EXPECT_EQ(ok->principal.permissions, (std::vector<std::string>{"documents:read", "documents:write"}));
  ASSERT_TRUE(use(other_key).ok());
  ASSERT_TRUE(use(key).ok());  // cached now
  RunResult revoke = app.Ok({"apikey", "revoke", parts->lookup_id});
  const auto revoked_at = std::chrono::steady_clock::now();
  bool refused = false;
  std::chrono::steady_clock::duration took{};
  while (std::chrono::steady_clock::now() - revoked_at < std::chrono::milliseconds(1500)) {
    auto r = use(key);
    if (!r.ok()) {
      took = std::chrono::steady_clock::now() - revoked_at;
      refused = true;
      EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused) << "the revoked key is still accepted";
  EXPECT_LT(took, std::chrono::milliseconds(1100)) << "revocation must be visible within one second";
  EXPECT_TRUE(use(other_key).ok()) << "revoking one key refused another";
  io.Await((*authn)->Stop());
  authn->reset();
  io.Await((*database)->Close(db::Clock::now() + std::chrono::seconds(5)));
  (*pool)->Shutdown();

  RunResult after = app.Ok({"apikey", "list", "--tenant", tenant});
  EXPECT_THAT(after.out, HasSubstr("revoked"));
  EXPECT_NE(One(*c, "SELECT revoked_at FROM tenant_api_keys WHERE key_prefix = " + app.P(1), {parts->lookup_id}), "NULL");
  // Revoking again is fine (already revoked); an unknown key is an error.
  app.Ok({"apikey", "revoke", parts->lookup_id});
  RunResult unknown = app.Run({"apikey", "revoke", "nosuchkey123"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no API key"));
}

// ---- encrypted columns: keys check | rotate ---------------------------------------------------------

inline std::string NewKey() { return crypto::Base64Encode(crypto::RandomBytes(32)); }

void CaseKeysRotate(const std::string& backend) {
  AuthCliApp app(backend, "curatore");
  app.Ok({"migrate", "up"});
  app.Ok({"seed"}, {{"ADMIN_EMAIL", "admin@example.com"}, {"ADMIN_PASSWORD", kStrongPassword}});
  auto c = app.Connect();
  ASSERT_TRUE(c);
  const std::string org = One(*c, app.pg() ? "SELECT id::text FROM organizations" : "SELECT id FROM organizations");
  const std::string k1 = NewKey(), k2 = NewKey(), k3 = NewKey();
  auto ring = [&](const std::string& text) {
    auto r = crypto::Keyring::Parse(text);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  };
  // Servers started with k1, then k2, then k3 current: each startup check records its key's
  // canary (the keys that ever encrypted data).
  const std::string all = "k1=" + k1 + ", k2=" + k2 + ", k3=" + k3;
  for (const std::string cur : {"k1", "k2", "k3"}) app.Ok({"keys", "check"}, {{"PLINTH_ENCRYPTION_KEYS", all + "; current=" + cur}});
  // Five connections whose config is encrypted as the data runtime does it (AAD: table, column,
  // tenant, id), under k1, k2 and k3.
  const std::vector<std::string> under = {"k1", "k2", "k1", "k3", "k2"};
  std::map<std::string, std::string> plain;
  for (size_t i = 0; i < under.size(); ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", static_cast<int>(i) + 1);
    const crypto::Keyring r = ring("k1=" + k1 + ", k2=" + k2 + ", k3=" + k3 + "; current=" + under[i]);
    const std::string config = "{\"token\":\"secret-" + std::to_string(i + 1) + "\"}";
    auto blob = r.Encrypt(config, auth::ColumnAad("connections", "config", {org, id}));
    ASSERT_TRUE(blob.ok());
    plain[id] = config;
    auto ins = c->Query(app.pg() ? "INSERT INTO connections (id, organization_id, name, connection_type, config) VALUES "
                                   "($1::uuid, $2::uuid, $3, 'api', decode($4, 'hex'))"
                                 : "INSERT INTO connections (id, organization_id, name, connection_type, config) VALUES "
                                   "(?1, ?2, ?3, 'api', CAST(?4 AS BLOB))",
                        {id, org, "c" + std::to_string(i + 1), app.pg() ? crypto::HexEncode(*blob) : *blob});
    ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  }
  auto key_ids = [&]() {
    std::map<std::string, std::string> out;
    auto r = c->Query(app.pg() ? "SELECT id::text, encode(config, 'hex') FROM connections ORDER BY id"
                               : "SELECT id, hex(config) FROM connections ORDER BY id");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return out;
    for (const auto& row : r->rows) {
      auto blob = crypto::HexDecode(*row[1]);
      out[*row[0]] = blob.ok() ? crypto::Keyring::KeyIdOf(*blob).value_or("?") + ":" + *row[1] : "?";
    }
    return out;
  };
  auto count_under = [&](const std::string& id) {
    int n = 0;
    for (const auto& [row, k] : key_ids()) n += k.rfind(id + ":", 0) == 0;
    return n;
  };
  // A keyring without k1 is refused by `keys check`, naming the key.
  const std::string without_k1 = "k2=" + k2 + ", k3=" + k3 + "; current=k3";
  RunResult missing = app.Run({"keys", "check"}, {{"PLINTH_ENCRYPTION_KEYS", without_k1}});
  EXPECT_EQ(missing.exit_code, 1) << Show(missing);
  EXPECT_THAT(missing.err, HasSubstr("'k1'"));
  RunResult unset = app.Run({"keys", "rotate"});
  EXPECT_EQ(unset.exit_code, 2);
  EXPECT_THAT(unset.err, HasSubstr("PLINTH_ENCRYPTION_KEYS"));

  // Rotate to k3 in slices: one batch of two values, then the rest, then nothing.
  const std::map<std::string, std::string> keys = {{"PLINTH_ENCRYPTION_KEYS", "k1=" + k1 + ", k2=" + k2 + ", k3=" + k3 + "; current=k3"}};
  EXPECT_EQ(count_under("k3"), 1);
  RunResult slice = app.Ok({"keys", "rotate", "--batch-size", "2", "--max-batches", "1"}, keys);
  EXPECT_THAT(slice.out, HasSubstr("2 values re-encrypted under k3"));
  EXPECT_THAT(slice.out, HasSubstr("run it again to resume"));
  EXPECT_EQ(count_under("k3"), 3);
  RunResult rest = app.Ok({"keys", "rotate", "--batch-size", "2"}, keys);
  EXPECT_THAT(rest.out, HasSubstr("2 values re-encrypted under k3"));
  EXPECT_THAT(rest.out, Not(HasSubstr("resume")));
  EXPECT_EQ(count_under("k3"), 5);
  const auto done = key_ids();
  RunResult again = app.Ok({"keys", "rotate"}, keys);
  EXPECT_THAT(again.out, HasSubstr("0 values re-encrypted under k3"));
  EXPECT_EQ(key_ids(), done) << "a second complete run changed stored bytes";
  // Every value decrypts to what was written, bound to its row; and k1, k2 may now leave the
  // keyring.
  const crypto::Keyring only_k3 = ring("k3=" + k3);
  auto rows = c->Query(app.pg() ? "SELECT id::text, encode(config, 'hex') FROM connections ORDER BY id"
                                : "SELECT id, hex(config) FROM connections ORDER BY id");
  ASSERT_TRUE(rows.ok());
  for (const auto& row : rows->rows) {
    auto p = only_k3.Decrypt(*crypto::HexDecode(*row[1]), auth::ColumnAad("connections", "config", {org, *row[0]}));
    ASSERT_TRUE(p.ok()) << *row[0] << ": " << p.status().ToString();
    EXPECT_EQ(*p, plain[*row[0]]);
  }
  RunResult check = app.Ok({"keys", "check"}, {{"PLINTH_ENCRYPTION_KEYS", "k3=" + k3}});
  EXPECT_THAT(check.out, HasSubstr("keyring ok (current key k3)"));
  app.Ok({"migrate", "check"});  // the canary table is plinth's own: no drift
}

// ---- audit seal | verify -------------------------------------------------------------------------------

inline void AddAudit(const AuthCliApp& app, db::Connection& c, int n) {
  auto r = c.Query("INSERT INTO plinth_audit (tenant_id, principal_kind, action, table_name, row_key, changes, request_id) "
                   "VALUES (NULL, 'user', 'insert', 'documents', " +
                       app.P(1) + ", " + app.P(2) + (app.pg() ? "::jsonb" : "") + ", " + app.P(3) + ")",
                   {"row-" + std::to_string(n), "{\"title\":\"doc " + std::to_string(n) + "\"}", "req-" + std::to_string(n)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

void CaseAuditVerifyFindsTampering(const std::string& backend) {
  AuthCliApp app(backend, "documents");
  app.Ok({"migrate", "up"});
  app.Ok({"seed"});  // installs the chain tables (and, on PostgreSQL, the sealing function)
  auto c = app.Connect();
  ASSERT_TRUE(c);
  for (int i = 1; i <= 10; ++i) AddAudit(app, *c, i);
  const std::string checkpoints = app.File("checkpoints");
  RunResult seal = app.Ok({"audit", "seal", "--checkpoint", checkpoints});
  EXPECT_TRUE(std::regex_search(seal.out, std::regex("(^|\n)10 [0-9a-f]{64}\n"))) << seal.out;
  EXPECT_EQ(CountOf(ReadText(checkpoints), "\n"), 1u);
  auto verify = [&]() { return app.Run({"audit", "verify", "--checkpoint", checkpoints}); };
  RunResult intact = verify();
  EXPECT_EQ(intact.exit_code, 0) << Show(intact);
  EXPECT_THAT(intact.out, HasSubstr("intact: 10 rows in 1 seals, 0 not sealed yet"));
  // The chain's tables (and on PostgreSQL the auth functions) are plinth's own: no drift.
  app.Ok({"migrate", "check"});

  // A superuser bypassing plinth: the triggers refuse plain changes…
  EXPECT_FALSE(c->Exec("UPDATE plinth_audit SET row_key = 'x' WHERE seq = 3").ok());
  EXPECT_FALSE(c->Exec("DELETE FROM plinth_audit WHERE seq = 3").ok());
  // … so he switches them off.
  if (app.pg()) {
    ASSERT_TRUE(c->Exec("SET session_replication_role = replica").ok());
  } else {
    ASSERT_TRUE(c->Exec("DROP TRIGGER plinth_audit_refuse_update").ok());
    ASSERT_TRUE(c->Exec("DROP TRIGGER plinth_audit_refuse_delete").ok());
  }
  // Edit: one field of row 3.
  ASSERT_TRUE(c->Exec("UPDATE plinth_audit SET request_id = 'req-X' WHERE seq = 3").ok());
  RunResult edited = verify();
  EXPECT_EQ(edited.exit_code, 1) << Show(edited);
  EXPECT_THAT(edited.out, HasSubstr("altered seq=3 pos=3"));
  ASSERT_TRUE(c->Exec("UPDATE plinth_audit SET request_id = 'req-3' WHERE seq = 3").ok());
  EXPECT_EQ(verify().exit_code, 0) << "restoring the row restores the chain";

  // Deletion of row 5 (kept aside to put it back).
  ASSERT_TRUE(c->Exec("CREATE TEMP TABLE kept AS SELECT * FROM plinth_audit WHERE seq = 5").ok());
  ASSERT_TRUE(c->Exec("DELETE FROM plinth_audit WHERE seq = 5").ok());
  RunResult deleted = verify();
  EXPECT_EQ(deleted.exit_code, 1) << Show(deleted);
  EXPECT_THAT(deleted.out, HasSubstr("missing seq=5 pos=5"));
  ASSERT_TRUE(c->Exec(std::string("INSERT INTO plinth_audit ") + (app.pg() ? "OVERRIDING SYSTEM VALUE " : "") + "SELECT * FROM kept").ok());
  EXPECT_EQ(verify().exit_code, 0);

  // Reordering: rows 7 and 8 exchange their contents (each seq keeps its place).
  ASSERT_TRUE(c->Exec("CREATE TEMP TABLE swap AS SELECT seq, row_key, changes, request_id FROM plinth_audit WHERE seq IN (7, 8)").ok());
  ASSERT_TRUE(c->Exec("UPDATE plinth_audit SET row_key = (SELECT row_key FROM swap WHERE swap.seq = 15 - plinth_audit.seq), "
                      "changes = (SELECT changes FROM swap WHERE swap.seq = 15 - plinth_audit.seq), "
                      "request_id = (SELECT request_id FROM swap WHERE swap.seq = 15 - plinth_audit.seq) WHERE seq IN (7, 8)")
                  .ok());
  EXPECT_EQ(One(*c, "SELECT row_key FROM plinth_audit WHERE seq = 7"), "row-8");
  RunResult reordered = verify();
  EXPECT_EQ(reordered.exit_code, 1) << Show(reordered);
  EXPECT_THAT(reordered.out, HasSubstr("altered seq=7 pos=7"));

  // A careful superuser who also rewrites the chain and seal tables is caught by the checkpoint.
  ASSERT_TRUE(c->Exec("DELETE FROM plinth_audit_chain").ok());
  ASSERT_TRUE(c->Exec("DELETE FROM plinth_audit_seals").ok());
  ASSERT_TRUE(c->Exec("DELETE FROM plinth_audit_gaps").ok());
  RunResult resealed = app.Ok({"audit", "seal"});
  RunResult db_alone = app.Run({"audit", "verify"});
  EXPECT_EQ(db_alone.exit_code, 0) << "the database alone looks consistent: " << Show(db_alone);
  RunResult anchored = verify();
  EXPECT_EQ(anchored.exit_code, 1) << Show(anchored);
  EXPECT_THAT(anchored.out, HasSubstr("checkpoint_mismatch"));
}

}  // namespace plinth::cli::testing
