// tests/data/apps.h — the example apps' policies as their users meet them, on the apps' own
// schemas (examples/<app>/schema.toml): escrow (participants), documents (tenant isolation,
// audited platform-admin bypass), settings (permissions, who may grant roles, append-only
// change log) and curatore (organisation isolation, admin-only system settings, encrypted
// write-only connection configuration). Run by data_test on SQLite and by data_pgtest on both
// databases with identical transcripts.
#pragma once

#include "data/conformance.h"

namespace plinth::testing {

struct AppCase {
  std::string name;
  std::string app;  // examples/<app>/schema.toml
  std::function<void(Env&, Checker&)> run;
};

inline data::Principal NoTenantUser(const std::string& user, std::vector<std::string> roles = {},
                                    std::vector<std::string> permissions = {}) {
  return User("", user, std::move(roles), std::move(permissions));
}

inline std::string Code(const Status& st) { return ShowStatus(st); }
template <typename T>
std::string Code(const Result<T>& r) {
  return ShowStatus(r.status());
}

inline std::vector<AppCase> AppCases() {
  std::vector<AppCase> cases;

  cases.push_back({"Escrow", "escrow", [](Env& env, Checker& c) {
    const std::string creator = Uuid(0, 1, 1), buyer = Uuid(0, 1, 2), seller = Uuid(0, 1, 3), stranger = Uuid(0, 1, 4);
    for (const auto& [id, email] : std::vector<std::pair<std::string, std::string>>{
             {creator, "creator@e.test"}, {buyer, "buyer@e.test"}, {seller, "seller@e.test"}}) {
      c.Is("sign up " + email, Code(Ins(env, NoTenantUser(id), "users", {{"id", id}, {"email", email}})), "ok");
    }
    c.Is("sign up as somebody else", Code(Ins(env, NoTenantUser(stranger), "users", {{"id", Uuid(0, 1, 9)}, {"email", "x@e.test"}})),
         "policy_violation");
    c.Is("stranger signs up", Code(Ins(env, NoTenantUser(stranger), "users", {{"id", stranger}, {"email", "stranger@e.test"}})), "ok");
    const std::string p1 = Uuid(0, 2, 1), p2 = Uuid(0, 2, 2);
    auto project = [&](const std::string& id, const std::string& as, const std::string& creator_id) {
      return Code(Ins(env, NoTenantUser(as), "projects",
                      {{"id", id}, {"title", "Build"}, {"total_amount", "1000"}, {"creator_id", creator_id},
                       {"buyer_id", buyer}, {"seller_id", seller}}));
    };
    c.Is("creator opens P1", project(p1, creator, creator), "ok");
    c.Is("creator opens P2", project(p2, creator, creator), "ok");
    c.Is("buyer opens a project in the creator's name", project(Uuid(0, 2, 3), buyer, creator), "policy_violation");
    c.Is("buyer reads P1", Code(GetRow(env, NoTenantUser(buyer), "projects", p1)), "ok");
    c.Is("seller reads P1", Code(GetRow(env, NoTenantUser(seller), "projects", p1)), "ok");
    c.Is("stranger reads P1", Code(GetRow(env, NoTenantUser(stranger), "projects", p1)), "not_found");
    c.Is("stranger lists projects", Ids(ListRows(env, NoTenantUser(stranger), "projects", ById())), "");
    c.Is("buyer lists projects", Ids(ListRows(env, NoTenantUser(buyer), "projects", ById())), Join({p1, p2}));
    c.Is("creator updates P1", Code(Upd(env, NoTenantUser(creator), "projects", p1, {{"status", "active"}})), "ok");
    c.Is("buyer updates P1", Code(Upd(env, NoTenantUser(buyer), "projects", p1, {{"status", "completed"}})), "not_found");
    c.Is("creator hands P1 to the buyer", Code(Upd(env, NoTenantUser(creator), "projects", p1, {{"creator_id", buyer}})),
         "policy_violation");
    c.Is("buyer deletes P2", Code(Del(env, NoTenantUser(buyer), "projects", p2)), "not_found");
    c.Is("creator deletes P2", Code(Del(env, NoTenantUser(creator), "projects", p2)), "ok");
    const std::string m1 = Uuid(0, 3, 1);
    auto milestone = [&](const std::string& id, const std::string& as, int order) {
      return Code(Ins(env, NoTenantUser(as), "milestones",
                      {{"id", id}, {"project_id", p1}, {"title", "M"}, {"amount", "250.5"}, {"order_index", std::to_string(order)}}));
    };
    c.Is("creator adds M1", milestone(m1, creator, 0), "ok");
    c.Is("buyer adds a milestone", milestone(Uuid(0, 3, 2), buyer, 1), "policy_violation");
    c.Is("creator adds a second milestone at order 0", milestone(Uuid(0, 3, 3), creator, 0), "already_exists(milestones_project_id_order_index_key)");
    c.Is("buyer reads M1", ShowResult(GetRow(env, NoTenantUser(buyer), "milestones", m1, {"id", "amount", "status"})),
         "ok {id=" + m1 + ",amount=250.50,status=pending}");
    c.Is("stranger reads M1", Code(GetRow(env, NoTenantUser(stranger), "milestones", m1)), "not_found");
    c.Is("stranger lists milestones", Ids(ListRows(env, NoTenantUser(stranger), "milestones", ById())), "");
    c.Is("seller updates M1", Code(Upd(env, NoTenantUser(seller), "milestones", m1, {{"status", "completed"}})), "not_found");
    c.Is("creator updates M1", Code(Upd(env, NoTenantUser(creator), "milestones", m1, {{"status", "in_progress"}})), "ok");
    const std::string t1 = Uuid(0, 4, 1);
    auto txn = [&](const std::string& id, const std::string& as, const std::string& user) {
      return Code(Ins(env, NoTenantUser(as), "transactions",
                      {{"id", id}, {"user_id", user}, {"project_id", p1}, {"type", "deposit"}, {"amount", "1000.00"}}));
    };
    c.Is("buyer records a deposit", txn(t1, buyer, buyer), "ok");
    c.Is("buyer records one for the seller", txn(Uuid(0, 4, 2), buyer, seller), "policy_violation");
    c.Is("buyer reads it", Code(GetRow(env, NoTenantUser(buyer), "transactions", t1)), "ok");
    c.Is("seller reads it", Code(GetRow(env, NoTenantUser(seller), "transactions", t1)), "not_found");
    c.Is("buyer updates it", Code(Upd(env, NoTenantUser(buyer), "transactions", t1, {{"status", "completed"}})), "not_found");
    c.Is("buyer deletes it", Code(Del(env, NoTenantUser(buyer), "transactions", t1)), "not_found");
    c.Is("buyer reads itself", Code(GetRow(env, NoTenantUser(buyer), "users", buyer)), "ok");
    c.Is("buyer reads the seller", Code(GetRow(env, NoTenantUser(buyer), "users", seller)), "not_found");
    c.Is("buyer updates its profile", Code(Upd(env, NoTenantUser(buyer), "users", buyer, {{"full_name", "B"}})), "ok");
    c.Is("buyer updates the seller", Code(Upd(env, NoTenantUser(buyer), "users", seller, {{"full_name", "S"}})), "not_found");
    c.Is("hashed_password is hidden",
         ShowResult(GetRow(env, NoTenantUser(buyer), "users", buyer)).find("hashed_password") == std::string::npos ? "hidden" : "shown",
         "hidden");
  }});

  cases.push_back({"Documents", "documents", [](Env& env, Checker& c) {
    const std::string t1 = Uuid(1, 0, 0), t2 = Uuid(2, 0, 0);
    auto admin = env.Run(env.rt().AdminTransact(
        Admin(), Req("seed"), "onboarding",
        {data::Write{data::Write::Kind::kInsert, "tenants", {}, {{"id", t1}, {"name", "One"}, {"domain", "one.test"}}},
         data::Write{data::Write::Kind::kInsert, "tenants", {}, {{"id", t2}, {"name", "Two"}}},
         data::Write{data::Write::Kind::kInsert, "templates", {}, {{"id", Uuid(0, 9, 1)}, {"name", "Fintech"}}}}));
    c.Is("onboard two tenants", Code(admin), "ok");
    const std::string u1 = Uuid(1, 1, 1), u2 = Uuid(1, 1, 2), v1 = Uuid(2, 1, 1);
    data::Principal owner = User(t1, u1, {"owner"}), member = User(t1, u2, {"member"}), other = User(t2, v1, {"owner"});
    c.Is("u1 joins", Code(Ins(env, owner, "users", {{"id", u1}, {"email", "u1@one.test"}, {"role", "owner"}})), "ok");
    c.Is("u2 joins", Code(Ins(env, owner, "users", {{"id", u2}, {"email", "u2@one.test"}})), "ok");
    c.Is("v1 joins", Code(Ins(env, other, "users", {{"id", v1}, {"email", "u1@one.test"}})), "ok");
    const std::string d1 = Uuid(1, 2, 1), d2 = Uuid(1, 2, 2), e1 = Uuid(2, 2, 1);
    c.Is("u1 writes d1", Code(Ins(env, owner, "documents", {{"id", d1}, {"user_id", u1}, {"title", "Contract"}})), "ok");
    c.Is("u2 writes d2", Code(Ins(env, member, "documents", {{"id", d2}, {"user_id", u2}, {"title", "Notes"}})), "ok");
    c.Is("v1 writes e1", Code(Ins(env, other, "documents", {{"id", e1}, {"user_id", v1}, {"title", "Theirs"}})), "ok");
    c.Is("u2 lists documents", Ids(ListRows(env, member, "documents", ById())), Join({d1, d2}));
    c.Is("v1 lists documents", Ids(ListRows(env, other, "documents", ById())), Join({e1}));
    c.Is("u1 reads e1", Code(GetRow(env, owner, "documents", e1)), "not_found");
    c.Is("u1 reads tenant Two", Code(GetRow(env, owner, "tenants", t2)), "not_found");
    c.Is("u2 deletes u1's d1", Code(Del(env, member, "documents", d1)), "not_found");
    c.Is("u2 deletes its d2", Code(Del(env, member, "documents", d2)), "ok");
    c.Is("the owner deletes d1", Code(Del(env, User(t1, u2, {"owner"}), "documents", d1)), "ok");
    c.Is("u1 appends to the audit log",
         Code(Ins(env, owner, "audit_logs", {{"user_id", u1}, {"action", "login"}, {"resource_type", "session"}})), "ok");
    data::ListQuery logs;
    logs.order = {{"id", false, std::nullopt}};
    logs.select = {"action"};
    c.Is("v1 reads tenant Two's log", ShowResult(ListRows(env, other, "audit_logs", logs)), "ok ");
    c.Is("everyone reads templates", ShowResult(ListRows(env, Nobody(), "templates", [] {
                                       data::ListQuery q;
                                       q.select = {"name"};
                                       return q;
                                     }())),
         "ok {name=Fintech}");
    c.Is("a tenant's owner adds a template", Code(Ins(env, owner, "templates", {{"id", Uuid(0, 9, 2)}, {"name", "Mine"}})),
         "policy_violation");
    c.Is("a tenant's owner retires the Fintech template",
         Code(Upd(env, owner, "templates", Uuid(0, 9, 1), {{"is_active", "false"}})), "not_found");
    auto retired = env.Run(env.rt().AdminTransact(
        Admin(), Req("ops"), "retire a template",
        {data::Write{data::Write::Kind::kInsert, "templates", {}, {{"id", Uuid(0, 9, 3)}, {"name", "Old"}, {"is_active", "false"}}}}));
    c.Is("the platform admin adds a retired template", Code(retired), "ok");
    c.Is("nobody reads the retired one", Code(GetRow(env, owner, "templates", Uuid(0, 9, 3))), "not_found");
    c.Is("u1 creates an API key",
         Code(Ins(env, owner, "tenant_api_keys",
                  {{"id", Uuid(1, 5, 1)}, {"user_id", u1}, {"name", "ci"}, {"key_prefix", "pk_1"}, {"key_hash", std::string(64, 'a')}})),
         "ok");
    c.Is("the key hash is never shown by default",
         ShowResult(GetRow(env, owner, "tenant_api_keys", Uuid(1, 5, 1))).find("key_hash") == std::string::npos ? "hidden" : "shown",
         "hidden");
    c.Is("v1 reads tenant One's key", Code(GetRow(env, other, "tenant_api_keys", Uuid(1, 5, 1))), "not_found");
    auto all = env.Run(env.rt().AdminList(Admin(), Req("support"), "ticket 7: document missing", "documents", ById()));
    c.Is("the platform admin lists every tenant's documents", Ids(all), Join({e1}));
    auto audit = env.AdminQuery("SELECT action, table_name, reason, user_id FROM plinth_audit WHERE action = 'admin_list'");
    c.Is("the bypass is audited with the admin and the reason", audit.ok() && audit->rows.size() == 1 && audit->rows[0][2] == "ticket 7: document missing" &&
                                                                        audit->rows[0][3] == Admin().user_id
                                                                    ? "yes"
                                                                    : "no",
         "yes");
  }});

  cases.push_back({"Settings", "settings", [](Env& env, Checker& c) {
    const std::string admin_id = Uuid(0, 1, 1), reader_id = Uuid(0, 1, 2), plain_id = Uuid(0, 1, 3);
    data::Principal admin = NoTenantUser(admin_id, {"admin"},
                                         {"users:write", "users:read", "settings:read", "settings:write", "settings:delete",
                                          "settings:admin", "roles:read", "roles:admin"});
    data::Principal writer = NoTenantUser(admin_id, {"editor"}, {"settings:read", "settings:write"});
    data::Principal reader = NoTenantUser(reader_id, {"viewer"}, {"settings:read"});
    data::Principal plain = NoTenantUser(plain_id);
    for (const auto& [id, name] : std::vector<std::pair<std::string, std::string>>{
             {admin_id, "admin"}, {reader_id, "reader"}, {plain_id, "plain"}}) {
      c.Is("create user " + name,
           Code(Ins(env, admin, "users", {{"id", id}, {"username", name}, {"email", name + "@s.test"}, {"password_hash", "x"}})), "ok");
    }
    c.Is("a user without users:write creates a user",
         Code(Ins(env, plain, "users", {{"id", Uuid(0, 1, 9)}, {"username", "sneaky"}, {"email", "s@s.test"}, {"password_hash", "x"}})),
         "policy_violation");
    const std::string role_admin = Uuid(0, 4, 1);
    c.Is("a user without roles:admin creates a role", Code(Ins(env, writer, "roles", {{"id", Uuid(0, 4, 9)}, {"name", "sneaky"}})),
         "policy_violation");
    c.Is("the admin creates the admin role", Code(Ins(env, admin, "roles", {{"id", role_admin}, {"name", "admin"}})), "ok");
    c.Is("plain grants itself the admin role", Code(Ins(env, plain, "user_roles", {{"user_id", plain_id}, {"role_id", role_admin}})),
         "policy_violation");
    c.Is("the writer grants it to plain", Code(Ins(env, writer, "user_roles", {{"user_id", plain_id}, {"role_id", role_admin}})),
         "policy_violation");
    c.Is("the admin grants it to the reader", Code(Ins(env, admin, "user_roles", {{"user_id", reader_id}, {"role_id", role_admin}})),
         "ok");
    data::ListQuery grants;
    grants.select = {"user_id", "role_id"};
    grants.order = {{"user_id", false, std::nullopt}};
    c.Is("the reader sees its own role", ShowResult(ListRows(env, reader, "user_roles", grants)),
         "ok {user_id=" + reader_id + ",role_id=" + role_admin + "}");
    c.Is("plain sees nobody's roles", ShowResult(ListRows(env, plain, "user_roles", grants)), "ok ");
    c.Is("plain lists the roles", Ids(ListRows(env, plain, "roles", ById())), "");
    c.Is("the admin lists the roles", Ids(ListRows(env, admin, "roles", ById())), Join({role_admin}));
    const std::string flag = Uuid(0, 5, 1);
    c.Is("the admin adds a feature flag", Code(Ins(env, admin, "feature_flags", {{"id", flag}, {"flag_name", "beta"}})), "ok");
    c.Is("the writer adds one", Code(Ins(env, writer, "feature_flags", {{"id", Uuid(0, 5, 2)}, {"flag_name", "x"}})),
         "policy_violation");
    c.Is("plain reads the flag", Code(GetRow(env, plain, "feature_flags", flag)), "ok");
    c.Is("the writer switches it on", Code(Upd(env, writer, "feature_flags", flag, {{"is_enabled", "true"}})), "not_found");
    c.Is("the admin switches it on", Code(Upd(env, admin, "feature_flags", flag, {{"is_enabled", "true"}})), "ok");
    c.Is("an anonymous caller lists the flags", Ids(ListRows(env, Nobody(), "feature_flags", ById())), "");
    c.Is("plain reads itself", Code(GetRow(env, plain, "users", plain_id)), "ok");
    c.Is("plain reads the admin", Code(GetRow(env, plain, "users", admin_id)), "not_found");
    const std::string s1 = Uuid(0, 2, 1);
    c.Is("the writer creates a setting", Code(Ins(env, writer, "settings", {{"id", s1}, {"key", "theme"}, {"value", "dark"}})), "ok");
    c.Is("the reader creates a setting", Code(Ins(env, reader, "settings", {{"id", Uuid(0, 2, 2)}, {"key", "x"}})), "policy_violation");
    c.Is("the reader reads it", Code(GetRow(env, reader, "settings", s1)), "ok");
    c.Is("plain lists settings", Ids(ListRows(env, plain, "settings", ById())), "");
    c.Is("the reader changes it", Code(Upd(env, reader, "settings", s1, {{"value", "light"}})), "not_found");
    c.Is("the writer changes it", Code(Upd(env, writer, "settings", s1, {{"value", "light"}, {"version", "2"}})), "ok");
    c.Is("the same key twice in production",
         Code(Ins(env, writer, "settings", {{"id", Uuid(0, 2, 3)}, {"key", "theme"}})), "already_exists(settings_key_environment_key)");
    const std::string log1 = Uuid(0, 3, 1);
    c.Is("the writer logs the change",
         Code(Ins(env, writer, "settings_audit_log",
                  {{"id", log1}, {"setting_id", s1}, {"old_value", "dark"}, {"new_value", "light"}, {"old_version", "1"},
                   {"new_version", "2"}, {"changed_by", admin_id}})),
         "ok");
    c.Is("the log is read", Code(GetRow(env, reader, "settings_audit_log", log1)), "ok");
    c.Is("the log cannot be changed", Code(Upd(env, admin, "settings_audit_log", log1, {{"new_value", "x"}})), "not_found");
    c.Is("the log cannot be deleted", Code(Del(env, admin, "settings_audit_log", log1)), "not_found");
    c.Is("the writer deletes the setting (needs settings:delete)", Code(Del(env, writer, "settings", s1)), "not_found");
    c.Is("a setting with a log cannot be deleted", Code(Del(env, admin, "settings", s1)), "constraint_violation(settings_audit_log_setting_id_fkey)");
  }});

  cases.push_back({"Curatore", "curatore", [](Env& env, Checker& c) {
    const std::string o1 = Uuid(1, 0, 0), o2 = Uuid(2, 0, 0);
    auto admin = env.Run(env.rt().AdminTransact(
        Admin(), Req("seed"), "provision organisations",
        {data::Write{data::Write::Kind::kInsert, "organizations", {}, {{"id", o1}, {"name", "One"}, {"slug", "one"}}},
         data::Write{data::Write::Kind::kInsert, "organizations", {}, {{"id", o2}, {"name", "Two"}, {"slug", "two"}}},
         data::Write{data::Write::Kind::kInsert, "system_settings", {}, {{"id", Uuid(0, 7, 1)}, {"key", "motd"}, {"value", "\"hello\""}, {"is_public", "true"}}},
         data::Write{data::Write::Kind::kInsert, "system_settings", {}, {{"id", Uuid(0, 7, 2)}, {"key", "smtp"}, {"value", "{\"host\": \"mx\"}"}}}}));
    c.Is("provision", Code(admin), "ok");
    const std::string a1 = Uuid(1, 1, 1), m1 = Uuid(1, 1, 2), x1 = Uuid(2, 1, 1);
    data::Principal org_admin = User(o1, a1, {"admin"}), member = User(o1, m1, {"member"}), outsider = User(o2, x1, {"admin"});
    c.Is("a1 joins", Code(Ins(env, org_admin, "users", {{"id", a1}, {"email", "a1@one.test"}, {"username", "alice"}, {"role", "admin"}})), "ok");
    c.Is("m1 joins", Code(Ins(env, org_admin, "users", {{"id", m1}, {"email", "m1@one.test"}, {"username", "mike"}})), "ok");
    c.Is("x1 joins Two", Code(Ins(env, outsider, "users", {{"id", x1}, {"email", "a1@one.test"}, {"username", "alice"}})), "ok");
    c.Is("m1 lists One's users", Ids(ListRows(env, member, "users", ById())), Join({a1, m1}));
    c.Is("x1 reads a1", Code(GetRow(env, outsider, "users", a1)), "not_found");
    c.Is("a member adds a user", Code(Ins(env, member, "users", {{"email", "z@one.test"}, {"username", "zed"}})), "policy_violation");
    c.Is("m1 makes itself an admin", Code(Upd(env, member, "users", m1, {{"role", "admin"}})), "not_found");
    c.Is("Two's admin changes m1", Code(Upd(env, outsider, "users", m1, {{"role", "viewer"}})), "not_found");
    c.Is("the admin makes m1 a viewer", Code(Upd(env, org_admin, "users", m1, {{"role", "viewer"}})), "ok");
    const std::string key = Uuid(1, 4, 1);
    c.Is("m1 creates its own API key",
         Code(Ins(env, member, "api_keys", {{"id", key}, {"user_id", m1}, {"name", "ci"}, {"key_hash", std::string(64, 'b')}, {"prefix", "pk_m1"}})),
         "ok");
    c.Is("m1 creates a key in a1's name",
         Code(Ins(env, member, "api_keys", {{"user_id", a1}, {"name", "x"}, {"key_hash", std::string(64, 'c')}, {"prefix", "pk_x"}})),
         "policy_violation");
    c.Is("the admin reads m1's key", Code(GetRow(env, org_admin, "api_keys", key)), "ok");
    c.Is("Two's admin reads it", Code(GetRow(env, outsider, "api_keys", key)), "not_found");
    c.Is("a member reads the public setting", Code(GetRow(env, member, "system_settings", Uuid(0, 7, 1))), "ok");
    c.Is("a member reads the private setting", Code(GetRow(env, member, "system_settings", Uuid(0, 7, 2))), "not_found");
    c.Is("an admin reads it", Code(GetRow(env, org_admin, "system_settings", Uuid(0, 7, 2))), "ok");
    c.Is("a member changes the public setting", Code(Upd(env, member, "system_settings", Uuid(0, 7, 1), {{"value", "1"}})), "not_found");
    c.Is("a member adds a setting", Code(Ins(env, member, "system_settings", {{"key", "k"}, {"value", "1"}})), "policy_violation");
    c.Is("an admin changes it", Code(Upd(env, org_admin, "system_settings", Uuid(0, 7, 1), {{"value", "\"bye\""}})), "ok");
    const std::string conn = Uuid(1, 3, 1);
    const std::string added = ShowResult(Ins(
        env, org_admin, "connections",
        {{"id", conn}, {"name", "sp"}, {"connection_type", "sharepoint"}, {"config", "{\"client_secret\": \"s3cr3t\"}"}}));
    c.Is("the admin adds a connection with a secret configuration",
         added.rfind("ok {", 0) != 0                  ? added
         : added.find("config") == std::string::npos ? "ok, config not returned"
                                                      : "ok, config returned",
         "ok, config not returned");
    c.Is("a member adds one", Code(Ins(env, member, "connections", {{"name", "x"}, {"connection_type", "llm"}, {"config", "{}"}})),
         "policy_violation");
    c.Is("a member reads it", Code(GetRow(env, member, "connections", conn)), "ok");
    c.Is("nobody reads the configuration", Code(GetRow(env, org_admin, "connections", conn, {"config"})), "invalid_argument(config)");
    c.Is("Two's admin reads it", Code(GetRow(env, outsider, "connections", conn)), "not_found");
    auto raw = env.AdminQuery("SELECT count(*) FROM connections WHERE config IS NOT NULL");
    c.Is("the configuration is stored", raw.ok() && !raw->rows.empty() ? raw->rows[0][0].value_or("") : "error", "1");
    c.Is("m1 appends to the log", Code(Ins(env, member, "audit_logs", {{"user_id", m1}, {"action", "view"}, {"entity_type", "connection"}})), "ok");
    data::ListQuery q;
    q.select = {"action"};
    q.order = {{"id", false, std::nullopt}};
    c.Is("Two sees none of One's log", ShowResult(ListRows(env, outsider, "audit_logs", q)), "ok ");
    c.Is("the log cannot be changed by a member", Code(Upd(env, member, "audit_logs", Uuid(1, 0, 0), {{"action", "x"}})), "not_found");
  }});

  return cases;
}

inline Checker RunAppCase(Env& env, const AppCase& cs) {
  Checker c;
  cs.run(env, c);
  return c;
}

}  // namespace plinth::testing
