// Compiling row policies to SQLite predicates with PostgreSQL's rules (see policy.h).
#include "data/policy.h"

#include <algorithm>
#include <functional>
#include <set>

#include "plinth/db.h"

namespace plinth::data::internal {

using expr::BinaryOp;
using expr::LiteralKind;
using expr::Node;
using expr::NodeKind;
using expr::ValueKind;
using schema::PolicyCommand;

std::string ClaimMarker(int index) {
  return std::string(1, kClaimOpen) + std::to_string(index) + std::string(1, kClaimClose);
}

std::string SqliteCheckCase(const std::vector<Check>& checks) {
  if (checks.empty()) return "1";
  std::string out = "CASE";
  for (const Check& c : checks) {
    // The message is made non-constant so that SQLite never evaluates the call ahead of the
    // CASE (it factors out constant calls of deterministic functions).
    out += " WHEN NOT coalesce((" + c.sql + "), 0) THEN plinth_raise('42501', " + db::QuoteLiteral(c.message) +
           " || substr(changes(), 1, 0))";
  }
  return out + " ELSE 1 END";
}

namespace {

Node BoolLiteral(bool v) {
  Node n;
  n.kind = NodeKind::kLiteral;
  n.lit = LiteralKind::kBool;
  n.text = v ? "true" : "false";
  n.value = ValueKind::kBool;
  return n;
}

Node Combine(BinaryOp op, Node a, Node b) {
  Node n;
  n.kind = NodeKind::kBinary;
  n.bop = op;
  n.value = ValueKind::kBool;
  n.children.push_back(std::move(a));
  n.children.push_back(std::move(b));
  return n;
}

// OR of the nodes (false when empty) / AND (true when empty).
Node AnyOf(std::vector<Node> nodes) {
  if (nodes.empty()) return BoolLiteral(false);
  Node out = std::move(nodes[0]);
  for (size_t i = 1; i < nodes.size(); ++i) out = Combine(BinaryOp::kOr, std::move(out), std::move(nodes[i]));
  return out;
}
Node AllOf(std::vector<Node> nodes) {
  if (nodes.empty()) return BoolLiteral(true);
  Node out = std::move(nodes[0]);
  for (size_t i = 1; i < nodes.size(); ++i) out = Combine(BinaryOp::kAnd, std::move(out), std::move(nodes[i]));
  return out;
}

// Moves a predicate of a related table (its columns at scope 0, its own exists at 1…) inside
// the exists at nesting depth `depth`.
void Rescope(Node& n, int depth) {
  if (n.kind == NodeKind::kColumn) n.scope += depth;
  for (Node& c : n.children) Rescope(c, depth);
}

bool Applies(const schema::Policy& p, PolicyCommand cmd) {
  return p.command == cmd || p.command == PolicyCommand::kAll;
}

}  // namespace

class PolicyCompiler {
 public:
  PolicyCompiler(const schema::Schema& s, Policies& out) : s_(s), out_(out) {}

  Status Run() {
    out_.claims_ = {Claim{Claim::Kind::kTenant, {}, {}}, Claim{Claim::Kind::kUser, {}, {}},
                    Claim{Claim::Kind::kRole, {}, {}}};
    for (const schema::Table& t : s_.tables) {
      std::vector<ParsedPolicy>& list = parsed_[t.name];
      for (const schema::Policy& p : t.policies) {
        ParsedPolicy pp;
        pp.policy = &p;
        if (!p.using_expr.empty()) {
          auto n = expr::ParseStored(p.using_expr, s_, t, expr::Context::kPolicy);
          if (!n.ok()) return n.status().WithContext("policy " + t.name + "." + p.name);
          pp.using_node = std::move(n).value();
        }
        if (!p.check_expr.empty()) {
          auto n = expr::ParseStored(p.check_expr, s_, t, expr::Context::kPolicy);
          if (!n.ok()) return n.status().WithContext("policy " + t.name + "." + p.name);
          pp.check_node = std::move(n).value();
        }
        list.push_back(std::move(pp));
      }
    }
    for (const schema::Table& t : s_.tables) out_.tables_[t.name] = CompileTable(t);
    return Status::Ok();
  }

 private:
  struct ParsedPolicy {
    const schema::Policy* policy = nullptr;
    std::optional<Node> using_node;
    std::optional<Node> check_node;
  };

  enum class Use : unsigned char { kUsing, kCheckOrUsing };

  TablePolicies CompileTable(const schema::Table& t) {
    TablePolicies tp;
    tp.enabled = t.options.row_security;
    if (!tp.enabled) return tp;
    auto fail = [&](const Status& st) {
      tp.error = st;
      return tp;
    };
    auto select = SelectQuals(t.name);
    if (!select.ok()) return fail(select.status());
    auto update = Quals(t, PolicyCommand::kUpdate);
    if (!update.ok()) return fail(update.status());
    auto del = Quals(t, PolicyCommand::kDelete);
    if (!del.ok()) return fail(del.status());
    tp.select_quals = Render(*select);
    tp.update_quals = Render(Combine(BinaryOp::kAnd, *select, std::move(update).value()));
    tp.delete_quals = Render(Combine(BinaryOp::kAnd, *select, std::move(del).value()));

    const std::string rel = "\"" + t.name + "\"";
    auto checks = [&](PolicyCommand cmd, Use use, const std::string& suffix, std::vector<Check>& out) -> Status {
      std::vector<Node> permissive;
      for (const ParsedPolicy& pp : parsed_[t.name]) {
        if (pp.policy->restrictive || !Applies(*pp.policy, cmd)) continue;
        PLINTH_ASSIGN_OR_RETURN(std::optional<Node> e, Expression(t, pp, use));
        if (e) permissive.push_back(std::move(*e));
      }
      AddUnique(out, Check{Render(AnyOf(std::move(permissive))),
                           "new row violates row-level security policy " + suffix + "for table " + rel});
      for (const ParsedPolicy& pp : parsed_[t.name]) {
        if (!pp.policy->restrictive || !Applies(*pp.policy, cmd)) continue;
        PLINTH_ASSIGN_OR_RETURN(std::optional<Node> e, Expression(t, pp, use));
        if (!e) continue;
        AddUnique(out, Check{Render(*e), "new row violates row-level security policy \"" + pp.policy->name + "\" " +
                                             suffix + "for table " + rel});
      }
      return Status::Ok();
    };
    Status st = checks(PolicyCommand::kInsert, Use::kCheckOrUsing, "", tp.insert_checks);
    if (st.ok()) st = checks(PolicyCommand::kSelect, Use::kUsing, "", tp.insert_checks);
    if (st.ok()) st = checks(PolicyCommand::kUpdate, Use::kCheckOrUsing, "", tp.update_checks);
    if (st.ok()) st = checks(PolicyCommand::kSelect, Use::kUsing, "", tp.update_checks);
    if (st.ok()) st = checks(PolicyCommand::kUpdate, Use::kUsing, "(USING expression) ", tp.conflict_checks);
    if (st.ok()) st = checks(PolicyCommand::kSelect, Use::kUsing, "(USING expression) ", tp.conflict_checks);
    if (!st.ok()) return fail(st);
    tp.insert_case = SqliteCheckCase(tp.insert_checks);
    tp.update_case = SqliteCheckCase(tp.update_checks);
    tp.conflict_case = SqliteCheckCase(tp.conflict_checks);
    return tp;
  }

  // PostgreSQL keeps one with-check option per distinct (message, expression).
  static void AddUnique(std::vector<Check>& out, Check c) {
    for (const Check& have : out) {
      if (have.sql == c.sql && have.message == c.message) return;
    }
    out.push_back(std::move(c));
  }

  // The policy's expression for `use`, with the related tables' SELECT quals inside its
  // exists; nullopt when the policy has none.
  Result<std::optional<Node>> Expression(const schema::Table& t, const ParsedPolicy& pp, Use use) {
    const std::optional<Node>* src = &pp.using_node;
    if (use == Use::kCheckOrUsing && pp.check_node) src = &pp.check_node;
    if (!*src) return std::optional<Node>();
    Node n = **src;
    PLINTH_RETURN_IF_ERROR(ExpandExists(n, 0));
    (void)t;
    return std::optional<Node>(std::move(n));
  }

  // Security quals of `cmd`: AND of the restrictive USING, AND the OR of the permissive ones.
  Result<Node> Quals(const schema::Table& t, PolicyCommand cmd) {
    std::vector<Node> permissive, restrictive;
    for (const ParsedPolicy& pp : parsed_[t.name]) {
      if (!Applies(*pp.policy, cmd)) continue;
      PLINTH_ASSIGN_OR_RETURN(std::optional<Node> e, Expression(t, pp, Use::kUsing));
      if (!e) continue;
      (pp.policy->restrictive ? restrictive : permissive).push_back(std::move(*e));
    }
    restrictive.push_back(AnyOf(std::move(permissive)));
    return AllOf(std::move(restrictive));
  }

  // The SELECT quals of a table as a sub-select inside another policy sees them; memoised.
  Result<Node> SelectQuals(const std::string& table) {
    auto done = select_memo_.find(table);
    if (done != select_memo_.end()) {
      if (!done->second.second.ok()) return done->second.second;
      return done->second.first;
    }
    if (in_progress_.count(table)) {
      return Status(Code::kInvalidArgument, "infinite recursion detected in policy for relation \"" + table + "\"",
                    "42P17", table);
    }
    const schema::Table* t = s_.FindTable(table);
    if (t == nullptr) return Status(Code::kInternal, "policy names unknown table " + table);
    in_progress_.insert(table);
    Result<Node> r = Quals(*t, PolicyCommand::kSelect);
    in_progress_.erase(table);
    if (r.ok()) {
      select_memo_[table] = {*r, Status::Ok()};
    } else {
      select_memo_[table] = {Node(), r.status()};
    }
    return r;
  }

  // Adds, inside every exists of `n` over a table with row security, that table's SELECT
  // quals. `depth` = number of exists enclosing `n`.
  Status ExpandExists(Node& n, int depth) {
    if (n.kind != NodeKind::kExists) {
      for (Node& c : n.children) PLINTH_RETURN_IF_ERROR(ExpandExists(c, depth));
      return Status::Ok();
    }
    const int here = depth + 1;
    PLINTH_RETURN_IF_ERROR(ExpandExists(n.children[0], here));
    const schema::Table* related = s_.FindTable(n.text);
    if (related == nullptr) return Status(Code::kInternal, "policy exists names unknown table " + n.text);
    if (!related->options.row_security) return Status::Ok();
    PLINTH_ASSIGN_OR_RETURN(Node quals, SelectQuals(related->name));
    Rescope(quals, here);
    n.children[0] = Combine(BinaryOp::kAnd, std::move(n.children[0]), std::move(quals));
    return Status::Ok();
  }

  int Intern(const Claim& c) {
    for (size_t i = 0; i < out_.claims_.size(); ++i) {
      if (out_.claims_[i] == c) return static_cast<int>(i);
    }
    out_.claims_.push_back(c);
    return static_cast<int>(out_.claims_.size() - 1);
  }

  std::string Render(const Node& n) {
    expr::RenderOptions opts;
    opts.dialect = expr::Dialect::kSqlite;
    opts.render_auth = [this](const Node& call, const expr::RenderOptions&) {
      const std::string fn = call.text.substr(std::string_view("auth.").size());
      Claim c;
      if (fn == "tenant_id") {
        c.kind = Claim::Kind::kTenant;
      } else if (fn == "user_id") {
        c.kind = Claim::Kind::kUser;
      } else if (fn == "role") {
        c.kind = Claim::Kind::kRole;
      } else if (fn == "has_role") {
        c.kind = Claim::Kind::kHasRole;
        if (!call.children.empty()) c.a = call.children[0].text;
      } else {
        c.kind = Claim::Kind::kHasPermission;
        if (call.children.size() >= 2) {
          c.a = call.children[0].text;
          c.b = call.children[1].text;
        }
      }
      return ClaimMarker(Intern(c));
    };
    return expr::Render(n, opts);
  }

  const schema::Schema& s_;
  Policies& out_;
  std::map<std::string, std::vector<ParsedPolicy>> parsed_;
  std::map<std::string, std::pair<Node, Status>> select_memo_;
  std::set<std::string> in_progress_;
};

Result<Policies> Policies::Compile(const schema::Schema& s) {
  Policies out;
  PolicyCompiler c(s, out);
  PLINTH_RETURN_IF_ERROR(c.Run());
  return out;
}

const TablePolicies& Policies::For(const std::string& table) const {
  static const TablePolicies kNone;
  auto it = tables_.find(table);
  return it == tables_.end() ? kNone : it->second;
}

}  // namespace plinth::data::internal
