// tests/data/conformance.h — the isolation conformance suite, written once and run by both
// test binaries: data_test runs every case on SQLite; data_pgtest runs it on PostgreSQL (as the
// runtime role, through RLS) and on SQLite and requires the two transcripts to be identical.
//
// A case drives the runtime as several principals over a seeded two-tenant database and
// records each observation in a Checker: `Is` compares with the expected value (a mismatch is
// a violation), `Note` records without an expectation. The policy-mutant tests run the same
// cases on a mutated database and require violations.
//
// Checklist coverage (../shared/reference/security.md §8): T1 Reads/Lists/Counts/Filters,
// T2 InsertOtherTenant, T3 MoveRowToOtherTenant, T4 WritesByIdAcrossTenants, T5 UpsertOtherKey,
// T6 UniqueAcrossTenants, T7 ChildOfOtherTenantsParent, T10 StatementReuseAcrossTenants,
// T12 ParticipantPolicies, T14 Noninterference, P1/P2 NoContext and ContextDoesNotLeak.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/harness.h"
#include "data/values.h"

namespace plinth::testing {

class Checker {
 public:
  void Is(const std::string& label, const std::string& actual, const std::string& expected) {
    transcript.push_back(label + ": " + actual);
    if (actual != expected) violations.push_back(label + ": got [" + actual + "], want [" + expected + "]");
  }
  void That(bool cond, const std::string& label) {
    transcript.push_back(label + ": " + (cond ? "yes" : "no"));
    if (!cond) violations.push_back(label);
  }
  void Note(const std::string& label, const std::string& actual) { transcript.push_back(label + ": " + actual); }
  std::vector<std::string> transcript;
  std::vector<std::string> violations;
};

struct Case {
  std::string name;
  std::function<void(Env&, Checker&)> run;
};

inline std::string Lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

// ---- The isolation world -------------------------------------------------------------------

struct World {
  static inline const std::string A = Uuid(1, 0, 0);
  static inline const std::string B = Uuid(2, 0, 0);
  static inline const std::string a1 = Uuid(1, 1, 1);
  static inline const std::string a2 = Uuid(1, 1, 2);
  static inline const std::string b1 = Uuid(2, 1, 1);
  static inline const std::string A1 = Uuid(1, 2, 1);
  static inline const std::string A2 = Uuid(1, 2, 2);  // private, owner a1
  static inline const std::string A3 = Uuid(1, 2, 3);  // owner a2
  static inline const std::string B1 = Uuid(2, 2, 1);
  static inline const std::string B2 = Uuid(2, 2, 2);
  static inline const std::string CA1 = Uuid(1, 3, 1);  // a2 on A1
  static inline const std::string CA2 = Uuid(1, 3, 2);  // a1 on A2 (private)
  static inline const std::string CB1 = Uuid(2, 3, 1);
};

inline data::Principal Admin() {
  data::Principal p;
  p.kind = data::Principal::Kind::kSystem;
  p.user_id = Uuid(9, 9, 1);
  p.role = "platform_admin";
  p.credential_id = "admin-key-1";
  return p;
}

inline data::Principal Nobody() {
  data::Principal p;
  p.kind = data::Principal::Kind::kAnonymous;
  return p;
}

inline data::Principal PA1(std::vector<std::string> roles = {}) { return User(World::A, World::a1, std::move(roles)); }
inline data::Principal PA2(std::vector<std::string> roles = {}) { return User(World::A, World::a2, std::move(roles)); }
inline data::Principal PB1(std::vector<std::string> roles = {}) { return User(World::B, World::b1, std::move(roles)); }

inline Result<data::RowSet> Ins(Env& env, const data::Principal& p, const std::string& table, data::Fields f) {
  return env.Run(env.rt().Insert(p, Req(), table, std::move(f)));
}
inline Result<data::RowSet> Upd(Env& env, const data::Principal& p, const std::string& table, const std::string& id,
                                data::Fields f) {
  return env.Run(env.rt().Update(p, Req(), table, id, std::move(f)));
}
inline Status Del(Env& env, const data::Principal& p, const std::string& table, const std::string& id) {
  return env.Run(env.rt().Delete(p, Req(), table, id));
}
inline Result<data::RowSet> GetRow(Env& env, const data::Principal& p, const std::string& table, const std::string& id,
                                   std::vector<std::string> select = {}) {
  return env.Run(env.rt().Get(p, Req(), table, id, std::move(select)));
}
inline Result<data::ListResult> ListRows(Env& env, const data::Principal& p, const std::string& table,
                                         data::ListQuery q) {
  return env.Run(env.rt().List(p, Req(), table, std::move(q)));
}

// The ids of a list (or the error).
inline std::string Ids(const Result<data::ListResult>& r) {
  if (!r.ok()) return ShowStatus(r.status());
  std::string out;
  const auto& rs = r->rows;
  size_t id = 0;
  for (size_t i = 0; i < rs.columns.size(); ++i) {
    if (rs.columns[i]->name == "id") id = i;
  }
  for (const auto& row : rs.rows) out += (out.empty() ? "" : " ") + row[id].value_or("NULL");
  return out;
}

inline std::string Join(std::initializer_list<std::string> ids) {
  std::string out;
  for (const auto& s : ids) out += (out.empty() ? "" : " ") + s;
  return out;
}

inline data::Filter Cond(const std::string& column, data::FilterOp op, std::vector<std::string> values = {}) {
  data::Filter f;
  f.kind = data::Filter::Kind::kCondition;
  f.column = column;
  f.op = op;
  f.values = std::move(values);
  return f;
}
inline data::Filter Tree(data::Filter::Kind kind, std::vector<data::Filter> children) {
  data::Filter f;
  f.kind = kind;
  f.children = std::move(children);
  return f;
}

inline data::ListQuery ById(data::Filter where = {}) {
  data::ListQuery q;
  q.where = std::move(where);
  q.order = {{"id", false, std::nullopt}};
  q.select = {"id"};
  return q;
}

// Seeds two tenants, three users, five documents and three comments, each through the
// runtime as the principal that owns it (tenants through the audited admin bypass).
inline void SeedWorld(Env& env, Checker& c) {
  using W = World;
  auto admin = env.Run(env.rt().AdminTransact(
      Admin(), Req("seed"), "test setup: create tenants",
      {data::Write{data::Write::Kind::kInsert, "tenants", {}, {{"id", W::A}, {"name", "Tenant A"}}},
       data::Write{data::Write::Kind::kInsert, "tenants", {}, {{"id", W::B}, {"name", "Tenant B"}}}}));
  c.Is("seed tenants", ShowStatus(admin.status()), "ok");
  auto user = [&](const data::Principal& p, const std::string& id, const std::string& email) {
    c.Is("seed user " + email, ShowStatus(Ins(env, p, "users", {{"id", id}, {"email", email}, {"password_hash", "h-" + email}}).status()), "ok");
  };
  user(PA1(), W::a1, "a1@a.test");
  user(PA1(), W::a2, "a2@a.test");
  user(PB1(), W::b1, "b1@b.test");
  auto doc = [&](const data::Principal& p, data::Fields f) {
    std::string id = *f[0].second;
    c.Is("seed document " + id, ShowStatus(Ins(env, p, "documents", std::move(f)).status()), "ok");
  };
  doc(PA1(), {{"id", W::A1}, {"owner_id", W::a1}, {"title", "Alpha doc"}, {"slug", "alpha"}, {"score", "10"},
              {"price", "1.5"}, {"status", "draft"}, {"metadata", "{\"k\": 1, \"a\": [true, null]}"},
              {"due", "2026-01-01"}, {"happened", "2026-01-01T11:00:00+01:00"}, {"secret", "s-a1"},
              {"blob", std::string("\x00\x01\xff", 3)}, {"token", "t-a1"}});
  doc(PA1(), {{"id", W::A2}, {"owner_id", W::a1}, {"title", "Private doc"}, {"slug", "private"}, {"score", "20"},
              {"status", "published"}, {"private", "true"}});
  doc(PA2(), {{"id", W::A3}, {"owner_id", W::a2}, {"title", "Gamma doc"}, {"slug", "gamma"}, {"price", "99.99"},
              {"status", "archived"}, {"due", "2026-03-01"}});
  doc(PB1(), {{"id", W::B1}, {"owner_id", W::b1}, {"title", "alpha B"}, {"slug", "alpha"}, {"score", "15"}});
  doc(PB1(), {{"id", W::B2}, {"owner_id", W::b1}, {"title", "Beta doc"}, {"slug", "beta"}, {"score", "30"},
              {"price", "5"}, {"status", "published"}, {"due", "2026-02-01"}});
  auto comment = [&](const data::Principal& p, const std::string& id, const std::string& doc_id) {
    c.Is("seed comment " + id,
         ShowStatus(Ins(env, p, "comments", {{"id", id}, {"document_id", doc_id}, {"author_id", p.user_id}, {"body", "hi"}}).status()),
         "ok");
  };
  comment(PA2(), W::CA1, W::A1);
  comment(PA1(), W::CA2, W::A2);
  comment(PB1(), W::CB1, W::B1);
}

// Every id a principal of `tenant` returned belongs to it (ids encode their tenant).
inline bool AllOfTenant(const std::string& ids, int tenant) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%08x", tenant);
  for (const std::string& id : Split(ids, ' ')) {
    if (!id.empty() && id.rfind(prefix, 0) != 0) return false;
  }
  return true;
}

inline std::vector<Case> IsolationCases() {
  using W = World;
  using FO = data::FilterOp;
  using FK = data::Filter::Kind;
  std::vector<Case> cases;

  cases.push_back({"T1_ReadsById", [](Env& env, Checker& c) {
    c.Is("a1 gets A1", ShowStatus(GetRow(env, PA1(), "documents", W::A1).status()), "ok");
    c.Is("b1 gets A1", ShowStatus(GetRow(env, PB1(), "documents", W::A1).status()), "not_found");
    c.Is("a1 gets B1", ShowStatus(GetRow(env, PA1(), "documents", W::B1).status()), "not_found");
    c.Is("nobody gets A1", ShowStatus(GetRow(env, Nobody(), "documents", W::A1).status()), "not_found");
    c.Is("a1 gets tenant B", ShowStatus(GetRow(env, PA1(), "tenants", W::B).status()), "not_found");
    c.Is("a1 gets tenant A", ShowResult(GetRow(env, PA1(), "tenants", W::A)), "ok {id=" + W::A + ",name=Tenant A}");
    c.Is("b1 gets comment CA1", ShowStatus(GetRow(env, PB1(), "comments", W::CA1).status()), "not_found");
  }});

  cases.push_back({"T1_ListsAndCounts", [](Env& env, Checker& c) {
    auto counted = [&](const data::Principal& p, const std::string& table) {
      data::ListQuery q = ById();
      q.count_exact = true;
      auto r = ListRows(env, p, table, q);
      return Ids(r) + (r.ok() && r->total ? " total=" + std::to_string(*r->total) : std::string());
    };
    c.Is("a1 lists documents", counted(PA1(), "documents"), Join({W::A1, W::A2, W::A3}) + " total=3");
    c.Is("a2 lists documents", counted(PA2(), "documents"), Join({W::A1, W::A3}) + " total=2");
    c.Is("b1 lists documents", counted(PB1(), "documents"), Join({W::B1, W::B2}) + " total=2");
    c.Is("nobody lists documents", counted(Nobody(), "documents"), " total=0");
    c.Is("a1 lists users", counted(PA1(), "users"), Join({W::a1, W::a2}) + " total=2");
    c.Is("b1 lists users", counted(PB1(), "users"), Join({W::b1}) + " total=1");
    c.Is("a1 lists tenants", counted(PA1(), "tenants"), W::A + " total=1");
    c.Is("nobody lists tenants", counted(Nobody(), "tenants"), " total=0");
    c.Is("a1 lists comments", counted(PA1(), "comments"), Join({W::CA1, W::CA2}) + " total=2");
    // Exists sees documents through their own policies: A2 is private to a1.
    c.Is("a2 lists comments", counted(PA2(), "comments"), Join({W::CA1}) + " total=1");
    c.Is("b1 lists comments", counted(PB1(), "comments"), Join({W::CB1}) + " total=1");
  }});

  cases.push_back({"T1_ListsWithEveryFilter", [](Env& env, Checker& c) {
    struct F {
      std::string label;
      data::Filter f;
      std::string a1;
    };
    std::vector<F> filters = {
        {"score = 10", Cond("score", FO::kEq, {"10"}), Join({W::A1})},
        {"score <> 10", Cond("score", FO::kNe, {"10"}), Join({W::A2})},
        {"score > 10", Cond("score", FO::kGt, {"10"}), Join({W::A2})},
        {"score >= 10", Cond("score", FO::kGe, {"10"}), Join({W::A1, W::A2})},
        {"score < 20", Cond("score", FO::kLt, {"20"}), Join({W::A1})},
        {"score <= 20", Cond("score", FO::kLe, {"20"}), Join({W::A1, W::A2})},
        {"title like Alpha%", Cond("title", FO::kLike, {"Alpha%"}), Join({W::A1})},
        {"title like alpha%", Cond("title", FO::kLike, {"alpha%"}), ""},
        {"title ilike ALPHA%", Cond("title", FO::kILike, {"ALPHA%"}), Join({W::A1})},
        {"title like %_doc", Cond("title", FO::kLike, {"%_doc"}), Join({W::A1, W::A2, W::A3})},
        {"status in (draft, archived)", Cond("status", FO::kIn, {"draft", "archived"}), Join({W::A1, W::A3})},
        {"status in ()", Cond("status", FO::kIn, {}), ""},
        {"status > draft (declared order)", Cond("status", FO::kGt, {"draft"}), Join({W::A2, W::A3})},
        {"due is null", Cond("due", FO::kIsNull), Join({W::A2})},
        {"due is not null", Cond("due", FO::kIsNotNull), Join({W::A1, W::A3})},
        {"private is true", Cond("private", FO::kIsTrue), Join({W::A2})},
        {"private is false", Cond("private", FO::kIsFalse), Join({W::A1, W::A3})},
        {"private = false", Cond("private", FO::kEq, {"false"}), Join({W::A1, W::A3})},
        {"price > 1.5", Cond("price", FO::kGt, {"1.50"}), Join({W::A3})},
        {"happened >= 2026-01-01T10:00Z", Cond("happened", FO::kGe, {"2026-01-01T10:00:00Z"}), Join({W::A1})},
        {"due < 2026-02-01", Cond("due", FO::kLt, {"2026-02-01"}), Join({W::A1})},
        {"id = B1", Cond("id", FO::kEq, {W::B1}), ""},
        {"id in (A1, B1)", Cond("id", FO::kIn, {W::A1, W::B1}), Join({W::A1})},
        {"tenant_id = B", Cond("tenant_id", FO::kEq, {W::B}), ""},
        {"and", Tree(FK::kAnd, {Cond("score", FO::kGe, {"10"}), Cond("status", FO::kEq, {"draft"})}), Join({W::A1})},
        {"or", Tree(FK::kOr, {Cond("score", FO::kEq, {"10"}), Cond("status", FO::kEq, {"archived"})}),
         Join({W::A1, W::A3})},
        {"not", Tree(FK::kNot, {Cond("status", FO::kEq, {"draft"})}), Join({W::A2, W::A3})},
        {"or(and, not)", Tree(FK::kOr, {Tree(FK::kAnd, {Cond("score", FO::kGt, {"5"}), Cond("score", FO::kLt, {"15"})}),
                                        Tree(FK::kNot, {Cond("due", FO::kIsNull)})}),
         Join({W::A1, W::A3})},
        {"empty and", Tree(FK::kAnd, {}), Join({W::A1, W::A2, W::A3})},
        {"empty or", Tree(FK::kOr, {}), ""},
    };
    for (const F& f : filters) {
      c.Is("a1 " + f.label, Ids(ListRows(env, PA1(), "documents", ById(f.f))), f.a1);
      std::string b = Ids(ListRows(env, PB1(), "documents", ById(f.f)));
      c.Note("b1 " + f.label, b);
      c.That(AllOfTenant(b, 2), "b1 " + f.label + " sees only tenant B");
      c.Is("nobody " + f.label, Ids(ListRows(env, Nobody(), "documents", ById(f.f))), "");
    }
  }});

  cases.push_back({"T2_InsertForOtherTenant", [](Env& env, Checker& c) {
    c.Is("a1 inserts a document with tenant_id B",
         ShowStatus(Ins(env, PA1(), "documents",
                        {{"id", Uuid(1, 2, 90)}, {"tenant_id", W::B}, {"owner_id", W::a1}, {"title", "x"}, {"slug", "x"}})
                        .status()),
         "policy_violation");
    c.Is("a1 inserts a document owned by a2", ShowStatus(Ins(env, PA1(), "documents",
                                                            {{"id", Uuid(1, 2, 91)}, {"owner_id", W::a2}, {"title", "x"}, {"slug", "x2"}})
                                                            .status()),
         "policy_violation");
    c.Is("a1 inserts a user into tenant B",
         ShowStatus(Ins(env, PA1(), "users", {{"id", Uuid(1, 1, 90)}, {"tenant_id", W::B}, {"email", "x@b.test"}}).status()),
         "policy_violation");
    c.Is("b1 cannot see a row a1 tried to put into B", ShowStatus(GetRow(env, PB1(), "users", Uuid(1, 1, 90)).status()),
         "not_found");
    c.Is("nobody inserts a document", ShowStatus(Ins(env, Nobody(), "documents", {{"title", "x"}, {"slug", "x3"}}).status()),
         "permission_denied");
    c.Is("a1 inserts a tenant (no insert policy)",
         ShowStatus(Ins(env, PA1(), "tenants", {{"id", Uuid(3, 0, 0)}, {"name", "C"}}).status()), "policy_violation");
    c.Is("editor a2 inserts a document owned by a1",
         ShowStatus(Ins(env, PA2({"editor"}), "documents",
                        {{"id", Uuid(1, 2, 92)}, {"owner_id", W::a1}, {"title", "by editor"}, {"slug", "ed"}})
                        .status()),
         "ok");
  }});

  cases.push_back({"T3_MoveRowToOtherTenant", [](Env& env, Checker& c) {
    c.Is("a1 moves A1 to tenant B", ShowStatus(Upd(env, PA1(), "documents", W::A1, {{"tenant_id", W::B}}).status()),
         "policy_violation");
    // B already has slug 'alpha': the policy refuses before the unique key could reveal it.
    c.Is("a1 moves A1 (slug alpha) to tenant B, where alpha exists",
         ShowStatus(Upd(env, PA1(), "documents", W::A1, {{"tenant_id", W::B}, {"title", "moved"}}).status()),
         "policy_violation");
    c.Is("A1 still in A", ShowResult(GetRow(env, PA1(), "documents", W::A1, {"id", "title"})),
         "ok {id=" + W::A1 + ",title=Alpha doc}");
    c.Is("a1 gives A1 away to a2", ShowStatus(Upd(env, PA1(), "documents", W::A1, {{"owner_id", W::a2}}).status()),
         "policy_violation");
    c.Is("a1 updates A1", ShowResult(Upd(env, PA1(), "documents", W::A1, {{"title", "Alpha 2"}})).substr(0, 2), "ok");
    c.Is("a2 updates A1 (not owner)", ShowStatus(Upd(env, PA2(), "documents", W::A1, {{"title", "x"}}).status()),
         "not_found");
    c.Is("editor a2 updates A1", ShowStatus(Upd(env, PA2({"editor"}), "documents", W::A1, {{"title", "edited"}}).status()),
         "ok");
    c.Is("a1 updates a user to tenant B", ShowStatus(Upd(env, PA1(), "users", W::a2, {{"tenant_id", W::B}}).status()),
         "policy_violation");
  }});

  cases.push_back({"T4_WritesByIdAcrossTenants", [](Env& env, Checker& c) {
    c.Is("a1 updates B1", ShowStatus(Upd(env, PA1({"editor"}), "documents", W::B1, {{"title", "pwned"}}).status()),
         "not_found");
    c.Is("a1 deletes B1", ShowStatus(Del(env, PA1({"editor"}), "documents", W::B1)), "not_found");
    c.Is("a1 deletes comment CB1", ShowStatus(Del(env, PA1(), "comments", W::CB1)), "not_found");
    c.Is("B1 unchanged", ShowResult(GetRow(env, PB1(), "documents", W::B1, {"id", "title"})),
         "ok {id=" + W::B1 + ",title=alpha B}");
    c.Is("a2 deletes A1 (not owner)", ShowStatus(Del(env, PA2(), "documents", W::A1)), "not_found");
    c.Is("a2 with documents:delete deletes A3 of its own", ShowStatus(Del(env, PA2(), "documents", W::A3)), "ok");
    c.Is("A3 is gone", ShowStatus(GetRow(env, PA2(), "documents", W::A3).status()), "not_found");
    c.Is("a2 deletes A3 again", ShowStatus(Del(env, PA2(), "documents", W::A3)), "not_found");
    c.Is("nobody deletes A1", ShowStatus(Del(env, Nobody(), "documents", W::A1)), "permission_denied");
    c.Is("a2 deletes a comment on A1 that a2 wrote", ShowStatus(Del(env, PA2(), "comments", W::CA1)), "ok");
  }});

  cases.push_back({"T5_UpsertOnOtherTenantsKey", [](Env& env, Checker& c) {
    auto up = [&](const data::Principal& p, data::Fields f) {
      return env.Run(env.rt().Upsert(p, Req(), "documents", std::move(f)));
    };
    c.Is("a1 upserts B1's key with tenant B",
         ShowStatus(up(PA1(), {{"id", W::B1}, {"tenant_id", W::B}, {"owner_id", W::a1}, {"title", "x"}, {"slug", "x"}}).status()),
         "policy_violation");
    // Without a tenant the key is (A, B1's id): a new row of A, never B's row.
    auto r = up(PA1(), {{"id", W::B1}, {"owner_id", W::a1}, {"title", "mine"}, {"slug", "mine"}});
    c.Is("a1 upserts B1's id in A", ShowStatus(r.status()), "ok");
    if (r.ok()) {
      std::string shown = Show(*r);
      c.That(shown.find("tenant_id=" + W::A) != std::string::npos && shown.find("title=mine") != std::string::npos,
             "the upserted row is a1's");
    }
    c.Is("B1 unchanged", ShowResult(GetRow(env, PB1(), "documents", W::B1, {"id", "title"})),
         "ok {id=" + W::B1 + ",title=alpha B}");
    c.Is("a1 upserts its A1 (update path)",
         ShowResult(up(PA1(), {{"id", W::A1}, {"owner_id", W::a1}, {"title", "Alpha up"}, {"slug", "alpha"}})).substr(0, 2), "ok");
    c.Is("A1 updated", ShowResult(GetRow(env, PA1(), "documents", W::A1, {"title"})), "ok {title=Alpha up}");
    c.Is("a2 upserts A1 owned by a1 as itself",
         ShowStatus(up(PA2(), {{"id", W::A1}, {"owner_id", W::a2}, {"title", "x"}, {"slug", "alpha"}}).status()),
         "policy_violation");
    c.Is("a2 upserts A2 (private to a1) keeping a1 as owner",
         ShowStatus(up(PA2(), {{"id", W::A2}, {"owner_id", W::a1}, {"title", "x"}, {"slug", "private"}}).status()),
         "policy_violation");
    c.Is("A2 unchanged", ShowResult(GetRow(env, PA1(), "documents", W::A2, {"title"})), "ok {title=Private doc}");
  }});

  cases.push_back({"T6_UniqueKeysAcrossTenants", [](Env& env, Checker& c) {
    // 'beta' exists only in B, 'alpha' in both: a1 sees the same as if B had nothing.
    c.Is("a1 inserts slug beta (exists in B only)",
         ShowStatus(Ins(env, PA1(), "documents", {{"id", Uuid(1, 2, 50)}, {"owner_id", W::a1}, {"title", "b"}, {"slug", "beta"}}).status()),
         "ok");
    c.Is("a1 inserts slug alpha again (exists in A)",
         ShowStatus(Ins(env, PA1(), "documents", {{"id", Uuid(1, 2, 51)}, {"owner_id", W::a1}, {"title", "a"}, {"slug", "alpha"}}).status()),
         "already_exists(documents_slug_key)");
    c.Is("a1 inserts B1's id (exists in B only)",
         ShowStatus(Ins(env, PA1(), "documents", {{"id", W::B1}, {"owner_id", W::a1}, {"title", "same id"}, {"slug", "sameid"}}).status()),
         "ok");
    c.Is("a1 inserts A1's id again",
         ShowStatus(Ins(env, PA1(), "documents", {{"id", W::A1}, {"owner_id", W::a1}, {"title", "dup"}, {"slug", "dup"}}).status()),
         "already_exists(documents_pkey)");
    c.Is("b1 still has one B1", ShowResult(GetRow(env, PB1(), "documents", W::B1, {"id", "title"})),
         "ok {id=" + W::B1 + ",title=alpha B}");
    c.Is("a1 inserts user email b1@b.test",
         ShowStatus(Ins(env, PA1(), "users", {{"id", Uuid(1, 1, 50)}, {"email", "b1@b.test"}}).status()), "ok");
  }});

  cases.push_back({"T7_ChildOfOtherTenantsParent", [](Env& env, Checker& c) {
    auto doc = [&](const std::string& id, const std::string& owner) {
      return ShowStatus(Ins(env, PA1({"editor"}), "documents", {{"id", id}, {"owner_id", owner}, {"title", "t"}, {"slug", id}}).status());
    };
    c.Is("document owned by B's user", doc(Uuid(1, 2, 60), W::b1), "constraint_violation(documents_owner_id_fkey)");
    c.Is("document owned by nobody that exists", doc(Uuid(1, 2, 61), Uuid(7, 7, 7)), "constraint_violation(documents_owner_id_fkey)");
    c.Is("comment on B1 (policy sees no such document)",
         ShowStatus(Ins(env, PA1(), "comments", {{"id", Uuid(1, 3, 60)}, {"document_id", W::B1}, {"author_id", W::a1}, {"body", "x"}}).status()),
         "policy_violation");
    c.Is("comment on a missing document",
         ShowStatus(Ins(env, PA1(), "comments", {{"id", Uuid(1, 3, 61)}, {"document_id", Uuid(7, 7, 8)}, {"author_id", W::a1}, {"body", "x"}}).status()),
         "policy_violation");
    c.Is("update A1's owner to B's user",
         ShowStatus(Upd(env, PA1({"editor"}), "documents", W::A1, {{"owner_id", W::b1}}).status()),
         "constraint_violation(documents_owner_id_fkey)");
  }});

  cases.push_back({"T10_StatementReuseAcrossTenants", [](Env& env, Checker& c) {
    // The same statement shapes, prepared once per connection, run for A, B, A, nobody.
    for (int round = 0; round < 3; ++round) {
      const std::string r = " #" + std::to_string(round);
      c.Is("a1 get A1" + r, ShowStatus(GetRow(env, PA1(), "documents", W::A1).status()), "ok");
      c.Is("b1 get A1" + r, ShowStatus(GetRow(env, PB1(), "documents", W::A1).status()), "not_found");
      c.Is("b1 get B1" + r, ShowStatus(GetRow(env, PB1(), "documents", W::B1).status()), "ok");
      c.Is("a1 list" + r, Ids(ListRows(env, PA1(), "documents", ById())), Join({W::A1, W::A2, W::A3}));
      c.Is("b1 list" + r, Ids(ListRows(env, PB1(), "documents", ById())), Join({W::B1, W::B2}));
      c.Is("nobody list" + r, Ids(ListRows(env, Nobody(), "documents", ById())), "");
      c.Is("a2 list" + r, Ids(ListRows(env, PA2(), "documents", ById())), Join({W::A1, W::A3}));
    }
  }});

  cases.push_back({"P1P2_ContextDoesNotLeak", [](Env& env, Checker& c) {
    // A transaction of a1 that fails half-way, then reads by others on the same pool.
    auto t = env.Run(env.rt().Transact(
        PA1(), Req(),
        {data::Write{data::Write::Kind::kInsert, "documents", {}, {{"id", Uuid(1, 2, 70)}, {"owner_id", W::a1}, {"title", "t"}, {"slug", "p1"}}},
         data::Write{data::Write::Kind::kUpdate, "documents", W::B1, {{"title", "x"}}}}));
    c.Is("a1's transaction fails on B1", ShowStatus(t.status()), "not_found");
    c.Is("its insert was rolled back", ShowStatus(GetRow(env, PA1(), "documents", Uuid(1, 2, 70)).status()), "not_found");
    for (int i = 0; i < 4; ++i) {
      c.Is("nobody after a1 #" + std::to_string(i), Ids(ListRows(env, Nobody(), "documents", ById())), "");
      c.Is("a1 #" + std::to_string(i), Ids(ListRows(env, PA1(), "documents", ById())), Join({W::A1, W::A2, W::A3}));
    }
    c.Is("b1 after a1", Ids(ListRows(env, PB1(), "documents", ById())), Join({W::B1, W::B2}));
    c.Is("nobody writes", ShowStatus(Upd(env, Nobody(), "documents", W::A1, {{"title", "x"}}).status()), "permission_denied");
  }});

  cases.push_back({"T12_ParticipantPolicies", [](Env& env, Checker& c) {
    c.Is("a2 gets private A2", ShowStatus(GetRow(env, PA2(), "documents", W::A2).status()), "not_found");
    c.Is("a1 gets private A2", ShowStatus(GetRow(env, PA1(), "documents", W::A2).status()), "ok");
    c.Is("a2 gets the comment on A2", ShowStatus(GetRow(env, PA2(), "comments", W::CA2).status()), "not_found");
    c.Is("a2 comments on private A2",
         ShowStatus(Ins(env, PA2(), "comments", {{"id", Uuid(1, 3, 80)}, {"document_id", W::A2}, {"author_id", W::a2}, {"body", "x"}}).status()),
         "policy_violation");
    c.Is("a2 comments as a1",
         ShowStatus(Ins(env, PA2(), "comments", {{"id", Uuid(1, 3, 81)}, {"document_id", W::A1}, {"author_id", W::a1}, {"body", "x"}}).status()),
         "policy_violation");
    c.Is("a2 deletes a1's comment", ShowStatus(Del(env, PA2(), "comments", W::CA2)), "not_found");
    c.Is("a2 updates private A2 as editor (invisible to a2)",
         ShowStatus(Upd(env, PA2({"editor"}), "documents", W::A2, {{"title", "x"}}).status()), "not_found");
    auto admin = env.Run(env.rt().AdminList(Admin(), Req(), "support ticket 42", "documents", ById()));
    c.Is("admin lists every document (audited)", Ids(admin), Join({W::A1, W::A2, W::A3, W::B1, W::B2}));
    c.Is("admin without a reason",
         ShowStatus(env.Run(env.rt().AdminList(Admin(), Req(), " ", "documents", ById())).status()), "invalid_argument(reason)");
  }});

  cases.push_back({"T14_Noninterference", [](Env& env, Checker& c) {
    auto observe = [&]() {
      std::string out;
      for (const char* table : {"documents", "comments", "users", "tenants"}) {
        data::ListQuery q;
        q.order = {{"id", false, std::nullopt}};
        q.count_exact = true;
        auto r = ListRows(env, PA1(), table, q);
        out += std::string(table) + ":" + ShowResult(r) + ";";
      }
      for (const char* id : {"A1", "A2"}) {
        out += ShowResult(GetRow(env, PA1(), "documents", std::string(id) == "A1" ? World::A1 : World::A2)) + ";";
      }
      return out;
    };
    const std::string before = observe();
    // B changes everything it can.
    c.Is("b1 updates B1", ShowStatus(Upd(env, PB1(), "documents", W::B1, {{"title", "changed"}, {"score", "99"}}).status()), "ok");
    c.Is("b1 deletes B2", ShowStatus(Del(env, PB1(), "documents", W::B2)), "ok");
    c.Is("b1 inserts", ShowStatus(Ins(env, PB1(), "documents", {{"id", Uuid(2, 2, 9)}, {"owner_id", W::b1}, {"title", "new"}, {"slug", "gamma"}}).status()), "ok");
    c.Is("b1 inserts a user", ShowStatus(Ins(env, PB1(), "users", {{"id", Uuid(2, 1, 9)}, {"email", "a1@a.test"}}).status()), "ok");
    c.Is("a1 observes the same", observe() == before ? "same" : "changed:\n" + before + "\n" + observe(), "same");
  }});

  cases.push_back({"KeysetPagination", [](Env& env, Checker& c) {
    for (int i = 0; i < 5; ++i) {
      std::string n = std::to_string(i);
      c.Is("insert page doc " + n,
           ShowStatus(Ins(env, PA1(), "documents",
                          {{"id", Uuid(1, 2, 100 + i)}, {"owner_id", W::a1}, {"title", i % 2 ? "odd" : "even"},
                           {"slug", "page" + n}, {"score", i == 2 ? std::optional<std::string>() : std::optional<std::string>(n)}})
                          .status()),
           "ok");
    }
    auto walk = [&](const data::Principal& p, std::vector<data::OrderBy> order) {
      std::string seen;
      data::ListQuery q;
      q.order = order;
      q.limit = 2;
      q.select = {"id", "title", "score"};
      for (int page = 0; page < 10; ++page) {
        auto r = ListRows(env, p, "documents", q);
        if (!r.ok()) return seen + " " + ShowStatus(r.status());
        seen += "[" + Ids(r) + "]";
        if (r->next_cursor.empty()) break;
        q.after = r->next_cursor;
      }
      return seen;
    };
    auto all = [&](const data::Principal& p, std::vector<data::OrderBy> order) {
      data::ListQuery q;
      q.order = order;
      q.limit = 100;
      q.select = {"id", "title", "score"};
      return Ids(ListRows(env, p, "documents", q));
    };
    for (auto order : std::vector<std::vector<data::OrderBy>>{
             {},
             {{"title", false, std::nullopt}},
             {{"title", true, std::nullopt}},
             {{"score", false, std::nullopt}},
             {{"score", true, std::nullopt}},
             {{"score", false, true}},
             {{"score", true, false}},
             {{"status", true, std::nullopt}, {"score", false, std::nullopt}}}) {
      std::string label = "order";
      for (const auto& o : order) {
        label += " " + o.column + (o.descending ? " desc" : " asc") +
                 (o.nulls_first ? (*o.nulls_first ? " nulls first" : " nulls last") : "");
      }
      std::string paged = walk(PA1(), order);
      std::string flat = all(PA1(), order);
      std::string joined;
      for (char ch : paged) {
        if (ch == '[' || ch == ']') continue;
        joined.push_back(ch);
      }
      // Pages split the same sequence a single list returns.
      std::string flat_compact = flat;
      flat_compact.erase(std::remove(flat_compact.begin(), flat_compact.end(), ' '), flat_compact.end());
      std::string paged_compact = joined;
      paged_compact.erase(std::remove(paged_compact.begin(), paged_compact.end(), ' '), paged_compact.end());
      c.Note(label + " pages", paged);
      c.Is(label + " pages concatenate to the list", paged_compact, flat_compact);
      c.Note(label + " list", flat);
    }
    // A cursor of A's list replayed by B: only B's rows after that position.
    data::ListQuery q = ById();
    q.limit = 1;
    auto first = ListRows(env, PA1(), "documents", q);
    if (first.ok()) {
      q.after = first->next_cursor;
      std::string b = Ids(ListRows(env, PB1(), "documents", q));
      c.That(AllOfTenant(b, 2), "A's cursor used by b1 shows B's rows only");
      q.after = first->next_cursor.substr(0, first->next_cursor.size() - 2);
      c.Is("a truncated cursor", ShowStatus(ListRows(env, PA1(), "documents", q).status()), "invalid_argument(after)");
      data::ListQuery other = ById();
      other.order = {{"title", false, std::nullopt}};
      other.after = first->next_cursor;
      c.Is("a cursor of another order", ShowStatus(ListRows(env, PA1(), "documents", other).status()), "invalid_argument(after)");
    }
    data::ListQuery off = ById();
    off.offset = 2;
    off.limit = 2;
    c.Is("offset 2 limit 2", Ids(ListRows(env, PA1(), "documents", off)), Join({W::A3, Uuid(1, 2, 100)}));
    off.limit = 0;
    c.Is("limit 0", ShowStatus(ListRows(env, PA1(), "documents", off).status()), "invalid_argument(limit)");
  }});

  cases.push_back({"TransactAllOrNothing", [](Env& env, Checker& c) {
    auto t = env.Run(env.rt().Transact(
        PA1(), Req(),
        {data::Write{data::Write::Kind::kInsert, "documents", {}, {{"id", Uuid(1, 2, 200)}, {"owner_id", W::a1}, {"title", "t1"}, {"slug", "t1"}}},
         data::Write{data::Write::Kind::kUpdate, "documents", W::A1, {{"title", "in tx"}}},
         data::Write{data::Write::Kind::kInsert, "comments", {}, {{"id", Uuid(1, 3, 200)}, {"document_id", Uuid(1, 2, 200)}, {"author_id", W::a1}, {"body", "c"}}},
         data::Write{data::Write::Kind::kDelete, "comments", W::CA2, {}}}));
    c.Is("a transaction of four writes", ShowStatus(t.status()), "ok");
    if (t.ok()) c.Is("four results", std::to_string(t->size()), "4");
    c.Is("its comment sees its document", ShowStatus(GetRow(env, PA1(), "comments", Uuid(1, 3, 200)).status()), "ok");
    auto bad = env.Run(env.rt().Transact(
        PA1(), Req(),
        {data::Write{data::Write::Kind::kInsert, "documents", {}, {{"id", Uuid(1, 2, 201)}, {"owner_id", W::a1}, {"title", "t2"}, {"slug", "t2"}}},
         data::Write{data::Write::Kind::kUpdate, "documents", W::A1, {{"title", "again"}}},
         data::Write{data::Write::Kind::kInsert, "documents", {}, {{"id", Uuid(1, 2, 202)}, {"owner_id", W::a1}, {"title", "t3"}, {"slug", "t2"}}}}));
    c.Is("a transaction whose last write collides", ShowStatus(bad.status()), "already_exists(documents_slug_key)");
    c.Is("its first insert is gone", ShowStatus(GetRow(env, PA1(), "documents", Uuid(1, 2, 201)).status()), "not_found");
    c.Is("its update is gone", ShowResult(GetRow(env, PA1(), "documents", W::A1, {"title"})), "ok {title=in tx}");
    auto invalid = env.Run(env.rt().Transact(
        PA1(), Req(), {data::Write{data::Write::Kind::kInsert, "documents", {}, {{"title", "ok"}, {"slug", "v"}, {"owner_id", W::a1}}},
                       data::Write{data::Write::Kind::kInsert, "documents", {}, {{"title", "x"}, {"score", "abc"}}}}));
    c.Is("a transaction with an invalid field", ShowStatus(invalid.status()), "invalid_argument(score)");
  }});

  cases.push_back({"ValuesAreCanonical", [](Env& env, Checker& c) {
    auto r = GetRow(env, PA1(), "documents", W::A1,
                    {"id", "score", "views", "price", "private", "status", "metadata", "due", "happened", "secret"});
    c.Is("A1 as stored", ShowResult(r),
         "ok {id=" + W::A1 +
             ",score=10,views=0,price=1.50,private=false,status=draft,metadata={\"a\":[true,null],\"k\":1},due=2026-01-01,"
             "happened=2026-01-01T10:00:00.000000Z,secret=s-a1}");
    auto blob = GetRow(env, PA1(), "documents", W::A1, {"blob"});
    c.Is("bytes round trip", blob.ok() && blob->rows.size() == 1 && blob->rows[0][0] == std::string("\x00\x01\xff", 3) ? "same" : "differs",
         "same");
    auto ins = Ins(env, PA1(), "documents",
                   {{"id", "0000000" "1-0000-4000-8000-0002000000AA"}, {"owner_id", W::a1}, {"title", "Ünïcødé ✓"},
                    {"slug", "u"}, {"price", "-0.5"}, {"private", "F"}, {"metadata", " { \"b\" : 1e2 , \"a\" : \"x\\u00e9\", \"b\": 2.50 } "},
                    {"happened", "2026-06-30 23:59:59.123456-02:30"}, {"score", "-2147483648"}, {"views", "9223372036854775807"}});
    c.Is("insert returns canonical values", ShowResult(ins).find("id=00000001-0000-4000-8000-0002000000aa") != std::string::npos ? "yes" : ShowResult(ins), "yes");
    auto got = GetRow(env, PA1(), "documents", "00000001-0000-4000-8000-0002000000aa",
                      {"title", "price", "private", "metadata", "happened", "score", "views"});
    c.Is("read back", ShowResult(got),
         "ok {title=Ünïcødé ✓,price=-0.50,private=false,metadata={\"a\":\"xé\",\"b\":2.50},"
         "happened=2026-07-01T02:29:59.123456Z,score=-2147483648,views=9223372036854775807}");
    auto bad = [&](const std::string& field, const std::string& value) {
      return ShowStatus(Ins(env, PA1(), "documents", {{"owner_id", W::a1}, {"title", "x"}, {"slug", "bad"}, {field, value}}).status());
    };
    c.Is("score out of range", bad("score", "2147483648"), "invalid_argument(score)");
    c.Is("score not a number", bad("score", "1.5"), "invalid_argument(score)");
    c.Is("price too precise", bad("price", "1.234"), "invalid_argument(price)");
    c.Is("price too large", bad("price", "123456789.00"), "invalid_argument(price)");
    c.Is("status not in the enum", bad("status", "deleted"), "invalid_argument(status)");
    c.Is("due not a date", bad("due", "2026-02-30"), "invalid_argument(due)");
    c.Is("happened without offset", bad("happened", "2026-01-01T00:00:00"), "invalid_argument(happened)");
    c.Is("metadata not json", bad("metadata", "{a:1}"), "invalid_argument(metadata)");
    c.Is("title too long", bad("title", std::string(201, 'x')), "invalid_argument(title)");
    c.Is("title invalid utf-8", bad("title", "\xff\xfe"), "invalid_argument(title)");
    c.Is("private not boolean", bad("private", "maybe"), "invalid_argument(private)");
    c.Is("unknown field", bad("nope", "1"), "invalid_argument(nope)");
    c.Is("owner_id not a uuid", bad("owner_id", "42"), "invalid_argument(owner_id)");
    c.Is("title null", ShowStatus(Ins(env, PA1(), "documents", {{"owner_id", W::a1}, {"title", std::nullopt}, {"slug", "n"}}).status()),
         "invalid_argument(title)");
    c.Is("slug missing", ShowStatus(Ins(env, PA1(), "documents", {{"owner_id", W::a1}, {"title", "x"}}).status()),
         "invalid_argument(slug)");
    c.Is("write-only token is never returned", ShowStatus(GetRow(env, PA1(), "documents", W::A1, {"token"}).status()),
         "invalid_argument(token)");
    auto def = GetRow(env, PA1(), "documents", W::A1);
    bool hidden_absent = def.ok();
    if (def.ok()) {
      for (const auto* col : def->columns) hidden_absent = hidden_absent && col->name != "token";
    }
    c.That(hidden_absent, "the default select leaves out write-only columns");
    auto users = GetRow(env, PA1(), "users", W::a1);
    bool no_hash = users.ok();
    if (users.ok()) {
      for (const auto* col : users->columns) no_hash = no_hash && col->name != "password_hash";
    }
    c.That(no_hash, "the default select leaves out hidden columns");
    c.Is("a hidden column selected explicitly", ShowResult(GetRow(env, PA1(), "users", W::a1, {"password_hash"})),
         "ok {password_hash=h-a1@a.test}");
  }});

  cases.push_back({"EncryptedColumns", [](Env& env, Checker& c) {
    c.Is("a1 reads its secret", ShowResult(GetRow(env, PA1(), "documents", W::A1, {"secret"})), "ok {secret=s-a1}");
    c.Is("b1 cannot", ShowStatus(GetRow(env, PB1(), "documents", W::A1, {"secret"}).status()), "not_found");
    c.Is("a filter on an encrypted column",
         ShowStatus(ListRows(env, PA1(), "documents", ById(Cond("secret", data::FilterOp::kEq, {"s-a1"}))).status()),
         "invalid_argument(secret)");
    c.Is("update the secret", ShowStatus(Upd(env, PA1(), "documents", W::A2, {{"secret", "s-a2"}}).status()), "ok");
    c.Is("read it", ShowResult(GetRow(env, PA1(), "documents", W::A2, {"secret"})), "ok {secret=s-a2}");
    // The database holds ciphertext, and a ciphertext moved to another row does not decrypt.
    auto raw = env.AdminQuery("SELECT secret FROM documents WHERE id = '" + W::A1 + "'");
    c.That(raw.ok() && raw->rows.size() == 1 && raw->rows[0][0] && raw->rows[0][0]->find("s-a1") == std::string::npos,
           "the stored value is not the plaintext");
    auto moved = env.AdminQuery("UPDATE documents SET secret = (SELECT secret FROM documents WHERE id = '" + W::A1 +
                                "') WHERE id = '" + W::A2 + "'");
    c.Is("move A1's ciphertext to A2", ShowStatus(moved.status()), "ok");
    c.Is("reading A2 fails, never garbage", ShowStatus(GetRow(env, PA1(), "documents", W::A2, {"secret"}).status()),
         "data_loss(secret)");
    c.Is("A2 without the secret still reads", ShowStatus(GetRow(env, PA1(), "documents", W::A2, {"id", "title"}).status()), "ok");
  }});

  cases.push_back({"AuditRows", [](Env& env, Checker& c) {
    c.Is("a1 updates A1", ShowStatus(Upd(env, PA1(), "documents", W::A1, {{"title", "audited"}, {"secret", "new secret"}}).status()), "ok");
    c.Is("a1 deletes comment CA2", ShowStatus(Del(env, PA1(), "comments", W::CA2)), "ok");
    c.Is("a2 fails to update A1", ShowStatus(Upd(env, PA2(), "documents", W::A1, {{"title", "x"}}).status()), "not_found");
    c.Is("a1 reads a secret", ShowStatus(GetRow(env, PA1(), "documents", W::A1, {"id", "secret"}).status()), "ok");
    auto rows = env.AdminQuery(
        "SELECT tenant_id, principal_kind, user_id, credential_id, action, table_name, row_key, changes, reason, "
        "request_id, ip, user_agent FROM plinth_audit ORDER BY seq");
    c.Is("read the audit table", ShowStatus(rows.status()), "ok");
    if (!rows.ok()) return;
    std::vector<std::string> lines;
    for (const auto& r : rows->rows) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        const std::string v = r[i].value_or("NULL");
        constexpr size_t kChanges = 7;  // jsonb on PostgreSQL: compared without its spaces
        line += (line.empty() ? "" : " | ") + (i == kChanges ? data::internal::CompactJsonText(v) : v);
      }
      lines.push_back(line);
    }
    c.Note("audit rows", "\n" + Lines(lines));
    auto has = [&](const std::string& needle) {
      return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
    };
    c.That(has(W::A + " | user | " + W::a1 + " | session-00000001 | update | documents | " + W::A1 +
               " | {\"title\":\"audited\",\"secret\":\"[redacted]\"} | NULL | req-1 | 127.0.0.1 | plinth-test"),
           "the update's audit row, secret redacted");
    c.That(has(" | delete | comments | " + W::CA2 + " | {}"), "the delete's audit row");
    c.That(has(" | read_secret | documents | " + W::A1 + " | {\"columns\":[\"secret\"]}"), "the secret read's audit row");
    c.That(has(" | admin_insert | tenants | " + W::A + " | {\"id\":\"" + W::A + "\",\"name\":\"Tenant A\"} | test setup: create tenants"),
           "the admin bypass's audit row names the reason");
    c.That(has("| insert | users | " + W::a1 + " | {\"id\":\"" + W::a1 + "\",\"email\":\"a1@a.test\",\"tenant_id\":\"" + W::A +
               "\",\"password_hash\":\"[redacted]\"}"),
           "hidden columns are redacted");
    c.That(!has("| update | documents | " + W::A1 + " | {\"title\":\"x\"}"), "no audit row for the refused update");
    c.That(!has("s-a1") && !has("new secret"), "no secret value in the audit table");
    auto refuse = env.AdminQuery("UPDATE plinth_audit SET action = 'x'");
    c.That(!refuse.ok(), "the audit table refuses UPDATE");
    auto refuse_delete = env.AdminQuery("DELETE FROM plinth_audit");
    c.That(!refuse_delete.ok(), "the audit table refuses DELETE");
  }});

  return cases;
}

// Runs one case on a fresh seeded database.
inline Checker RunCase(Env& env, const Case& cs) {
  Checker c;
  SeedWorld(env, c);
  cs.run(env, c);
  return c;
}


}  // namespace plinth::testing
