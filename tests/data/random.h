// tests/data/random.h — the randomized isolation test (security.md §8 P3): thousands of
// interleaved operations by random principals (2 tenants x 3 users, with and without the editor
// role and the delete permission) from concurrent workers over the pool, with statements that
// fail at random (foreign keys to the other tenant, unique collisions, transactions whose
// second write fails) — and on PostgreSQL connections killed under them. Afterwards:
// - every row any principal observed was one its SELECT policy admits (tenant, private/owner);
// - every successful write changed only rows its policies admit (the model knows each row's
//   tenant and owner: ids encode their tenant, owners never change);
// - the final database holds no row of a failed transaction and no row written by a principal
//   that was not allowed to write it (the title names the last writer).
//
// Thread-safety: the workers are coroutines on the Env's single io thread; the model is
// touched only there.
#pragma once

#include <atomic>
#include <map>
#include <random>
#include <set>

#include "data/conformance.h"

namespace plinth::testing {

struct RandomStats {
  std::map<std::string, int> outcomes;  // "op code" → count
  int operations = 0;
};

struct RandomPrincipal {
  data::Principal p;
  int tenant = 0;
  bool editor = false;
  bool deleter = false;
};

class RandomRun {
 public:
  RandomRun(Env& env, uint32_t seed) : env_(env), rng_(seed) {
    for (int t = 1; t <= 2; ++t) {
      for (int u = 1; u <= 3; ++u) {
        RandomPrincipal rp;
        rp.tenant = t;
        rp.editor = u == 2;
        rp.deleter = u == 3;
        std::vector<std::string> roles;
        if (rp.editor) roles.push_back("editor");
        std::vector<std::string> perms;
        if (rp.deleter) perms.push_back("documents:delete");
        rp.p = User(Uuid(t, 0, 0), Uuid(t, 1, u), roles, perms);
        principals_.push_back(rp);
      }
    }
  }

  // Seeds tenants and users (the conformance world's tenants plus three users each).
  void Seed(Checker& c) {
    auto admin = env_.Run(env_.rt().AdminTransact(
        Admin(), Req("seed"), "test setup",
        {data::Write{data::Write::Kind::kInsert, "tenants", {}, {{"id", Uuid(1, 0, 0)}, {"name", "A"}}},
         data::Write{data::Write::Kind::kInsert, "tenants", {}, {{"id", Uuid(2, 0, 0)}, {"name", "B"}}}}));
    c.Is("seed tenants", ShowStatus(admin.status()), "ok");
    for (const auto& rp : principals_) {
      auto r = Ins(env_, rp.p, "users", {{"id", rp.p.user_id}, {"email", rp.p.user_id + "@t.test"}});
      c.Is("seed user", ShowStatus(r.status()), "ok");
    }
  }

  void Run(int operations, int workers, Checker& c) {
    remaining_ = operations;
    std::promise<void> done;
    std::atomic<int> live{workers};
    for (int w = 0; w < workers; ++w) {
      asio::co_spawn(env_.loop().io(), Worker(c), [&](std::exception_ptr e) {
        if (e) c.That(false, "a worker threw");
        if (--live == 0) done.set_value();
      });
    }
    done.get_future().wait();
  }

  // The final state against the model.
  void Verify(Checker& c) {
    auto rows = env_.AdminQuery("SELECT tenant_id, id, owner_id, title, private FROM documents");
    c.Is("read the final state", ShowStatus(rows.status()), "ok");
    if (!rows.ok()) return;
    size_t checked = 0;
    for (const auto& r : rows->rows) {
      const std::string tenant = r[0].value_or(""), id = r[1].value_or(""), owner = r[2].value_or("");
      const std::string title = r[3].value_or("");
      c.That(id.substr(0, 8) == tenant.substr(0, 8), "row " + id + " is in the tenant its id names");
      auto it = owner_.find(id);
      c.That(it != owner_.end() && it->second == owner, "row " + id + " has the owner it was inserted with");
      c.That(!doomed_.count(id), "row " + id + " of a failed transaction is not in the database");
      // "w:<user>:n" — the last writer.
      std::string writer = title.size() > 38 ? title.substr(2, 36) : "";
      const RandomPrincipal* wp = nullptr;
      for (const auto& rp : principals_) {
        if (rp.p.user_id == writer) wp = &rp;
      }
      c.That(wp != nullptr && wp->p.tenant_id == tenant && (wp->editor || writer == owner),
             "row " + id + " was last written by a principal its policies admit (" + title + ")");
      ++checked;
    }
    c.That(checked > 0, "the final state has rows");
  }

  const RandomStats& stats() const { return stats_; }

 private:
  const RandomPrincipal& Pick() { return principals_[Rand(principals_.size())]; }
  size_t Rand(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Rand(100)) < percent; }

  // An id of tenant t from the known ones (or a fresh one). `insertable`: only ids that an
  // upsert may (re)insert without breaking the model — not those of a transaction that failed
  // or is still in flight (the final check requires those rows to be absent).
  std::string KnownId(int t, bool insertable = false) {
    std::vector<std::string> ids;
    for (const auto& [id, owner] : owner_) {
      if (insertable && (doomed_.count(id) || in_flight_.count(id))) continue;
      if (id.rfind(Uuid(t, 0, 0).substr(0, 8), 0) == 0) ids.push_back(id);
    }
    if (ids.empty()) return Uuid(t, 2, 999999);
    return ids[Rand(ids.size())];
  }

  void Observe(Checker& c, const RandomPrincipal& rp, const data::RowSet& rs, const std::string& op) {
    int ti = -1, oi = -1, pi = -1, ii = -1;
    for (size_t i = 0; i < rs.columns.size(); ++i) {
      if (rs.columns[i]->name == "tenant_id") ti = static_cast<int>(i);
      if (rs.columns[i]->name == "owner_id") oi = static_cast<int>(i);
      if (rs.columns[i]->name == "private") pi = static_cast<int>(i);
      if (rs.columns[i]->name == "id") ii = static_cast<int>(i);
    }
    for (const auto& row : rs.rows) {
      auto at = [&](int i) { return i >= 0 ? row[static_cast<size_t>(i)].value_or("") : std::string(); };
      bool ok = at(ti) == rp.p.tenant_id && (at(pi) != "true" || at(oi) == rp.p.user_id);
      if (!ok) c.That(false, op + " by " + rp.p.user_id + " observed " + at(ii) + " of tenant " + at(ti));
    }
  }

  void Count(const std::string& op, const Status& st) {
    ++stats_.operations;
    ++stats_.outcomes[op + " " + std::string(CodeName(st.code()))];
  }

  // Failures a correct runtime may report under faults and concurrency.
  static bool Expected(const Status& st) {
    switch (st.code()) {
      case Code::kOk:
      case Code::kNotFound:
      case Code::kPolicyViolation:
      case Code::kAlreadyExists:
      case Code::kConstraintViolation:
      case Code::kUnavailable:
      case Code::kCommitUnknown:
      case Code::kRetryable:
      case Code::kDeadlineExceeded: return true;
      default: return false;
    }
  }

  asio::awaitable<void> Worker(Checker& c) {
    while (remaining_-- > 0) {
      const RandomPrincipal& rp = Pick();
      const int t = rp.tenant;
      const int other = 3 - t;
      data::RequestInfo r = Req("rnd");
      const size_t op = Rand(9);
      const std::string title = "w:" + rp.p.user_id + ":" + std::to_string(++counter_);
      if (op == 0 || op == 1) {  // insert, sometimes into the other tenant or with a bad owner
        std::string id = Uuid(t, 2, ++next_id_);
        std::string owner = rp.p.user_id;
        data::Fields f{{"id", id}, {"title", title}, {"slug", "s" + std::to_string(next_id_ % 400)}, {"score", std::to_string(Rand(50))},
                       {"private", Chance(30) ? "true" : "false"}};
        if (Chance(10)) f.push_back({"tenant_id", Uuid(other, 0, 0)});
        if (rp.editor && Chance(30)) owner = Uuid(t, 1, 1 + static_cast<int>(Rand(3)));
        if (rp.editor && Chance(5)) owner = Uuid(other, 1, 1);  // foreign key into the other tenant
        f.push_back({"owner_id", owner});
        owner_.emplace(id, owner);
        auto res = co_await env_.rt().Insert(rp.p, r, "documents", f);
        Count("insert", res.status());
        if (res.ok()) Observe(c, rp, *res, "insert");
        if (res.ok() && (owner != rp.p.user_id && !rp.editor)) c.That(false, "insert of a row owned by another user");
        if (!Expected(res.status())) c.That(false, "insert: " + res.status().ToString());
      } else if (op == 2) {  // update a known row of either tenant
        std::string id = KnownId(Chance(20) ? other : t);
        data::Fields f{{"title", title}, {"score", std::to_string(Rand(50))}};
        auto res = co_await env_.rt().Update(rp.p, r, "documents", id, f);
        Count("update", res.status());
        if (res.ok()) {
          Observe(c, rp, *res, "update");
          auto it = owner_.find(id);
          if (id.substr(0, 8) != rp.p.tenant_id.substr(0, 8)) c.That(false, "update of another tenant's row " + id);
          if (it != owner_.end() && it->second != rp.p.user_id && !rp.editor) c.That(false, "update of another user's row " + id);
        }
        if (!Expected(res.status())) c.That(false, "update: " + res.status().ToString());
      } else if (op == 3) {  // delete
        std::string id = KnownId(Chance(20) ? other : t);
        Status st = co_await env_.rt().Delete(rp.p, r, "documents", id);
        Count("delete", st);
        if (st.ok()) {
          auto it = owner_.find(id);
          if (id.substr(0, 8) != rp.p.tenant_id.substr(0, 8)) c.That(false, "delete of another tenant's row " + id);
          if (it != owner_.end() && it->second != rp.p.user_id && !rp.deleter) c.That(false, "delete of another user's row " + id);
        }
        if (!Expected(st)) c.That(false, "delete: " + st.ToString());
      } else if (op == 4) {  // get
        std::string id = KnownId(Chance(30) ? other : t);
        std::vector<std::string> all_columns;  // (a named value: no temporaries in co_await with g++ 12)
        auto res = co_await env_.rt().Get(rp.p, r, "documents", id, all_columns);
        Count("get", res.status());
        if (res.ok()) Observe(c, rp, *res, "get");
        if (!Expected(res.status())) c.That(false, "get: " + res.status().ToString());
      } else if (op == 5 || op == 6) {  // list with a filter
        data::ListQuery q;
        q.where = Cond("score", Chance(50) ? data::FilterOp::kLt : data::FilterOp::kGe, {std::to_string(Rand(50))});
        q.limit = 50;
        q.count_exact = Chance(30);
        auto res = co_await env_.rt().List(rp.p, r, "documents", q);
        Count("list", res.status());
        if (res.ok()) Observe(c, rp, res->rows, "list");
        if (!Expected(res.status())) c.That(false, "list: " + res.status().ToString());
      } else if (op == 7) {  // upsert a known row of the own tenant, keeping its owner
        std::string id = KnownId(t, /*insertable=*/true);
        auto it = owner_.find(id);
        std::string owner = it != owner_.end() ? it->second : rp.p.user_id;
        if (it == owner_.end()) owner_.emplace(id, owner);
        data::Fields f{{"id", id}, {"title", title}, {"slug", "u" + std::to_string(Rand(1000000))}, {"owner_id", owner}};
        auto res = co_await env_.rt().Upsert(rp.p, r, "documents", f);
        Count("upsert", res.status());
        if (res.ok()) {
          Observe(c, rp, *res, "upsert");
          if (owner != rp.p.user_id && !rp.editor) c.That(false, "upsert of another user's row " + id);
        }
        if (!Expected(res.status())) c.That(false, "upsert: " + res.status().ToString());
      } else {  // a transaction whose second write fails half of the time
        std::string id = Uuid(t, 2, ++next_id_);
        owner_.emplace(id, rp.p.user_id);
        in_flight_.insert(id);
        const bool fail = Chance(50);
        std::vector<data::Write> ws;
        ws.push_back(data::Write{data::Write::Kind::kInsert, "documents", {},
                                 {{"id", id}, {"title", title}, {"slug", "x" + std::to_string(next_id_)}, {"owner_id", rp.p.user_id}}});
        ws.push_back(data::Write{data::Write::Kind::kUpdate, "documents", fail ? Uuid(other, 2, 1) : id, {{"score", "7"}}});
        auto res = co_await env_.rt().Transact(rp.p, r, ws);
        in_flight_.erase(id);
        Count("transact", res.status());
        if (fail && res.ok()) c.That(false, "a transaction touching the other tenant succeeded");
        // Every failure but kCommitUnknown promises that nothing was committed.
        if (!res.ok() && res.status().code() != Code::kCommitUnknown) doomed_.insert(id);
        if (res.ok()) {
          for (const auto& rs : *res) Observe(c, rp, rs, "transact");
        }
        if (!Expected(res.status())) c.That(false, "transact: " + res.status().ToString());
      }
    }
  }

  Env& env_;
  std::mt19937 rng_;
  std::vector<RandomPrincipal> principals_;
  std::map<std::string, std::string> owner_;  // id → owner it was (or would have been) inserted with
  std::set<std::string> doomed_;              // ids whose transaction failed
  std::set<std::string> in_flight_;           // ids of transactions not answered yet
  std::atomic<int> remaining_{0};
  int next_id_ = 0;
  int counter_ = 0;
  RandomStats stats_;
};

}  // namespace plinth::testing
