// `plinth seed`: idempotent seed files (auth_admin.h, docs/security.md "Seeding"), and the
// password strength check used for seeded and new passwords.
#include <toml++/toml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "auth/internal.h"
#include "common/strings.h"
#include "plinth/auth_admin.h"
#include "plinth/crypto.h"
#include "plinth/password.h"

namespace plinth::auth {
namespace {

using internal::PT;
using internal::Q;
using internal::Query;

// Passwords people pick when told "at least 15 characters" (and the classics they extend).
// NIST SP 800-63B-4 §3.1.1.2 asks for a blocklist of common, expected or compromised values.
constexpr std::string_view kBlocklist[] = {
    "password", "password1", "password123", "passw0rd", "123456", "12345678", "123456789", "1234567890",
    "qwerty", "qwertyuiop", "letmein", "welcome", "iloveyou", "admin", "administrator", "changeme", "secret",
    "passwordpassword", "password1234567", "password12345678", "qwertyuiopasdfgh", "qwertyuiopasdfghjkl",
    "123456789012345", "1234567890123456", "abcdefghijklmnop", "abcdefghijklmno", "iloveyouiloveyou",
    "letmeinletmeinletmein", "welcome123456789", "changemechangeme", "administrator123", "adminadminadmin",
    "correcthorsebatterystaple", "trustno1trustno1", "football12345678", "baseball12345678", "superman12345678",
    "1q2w3e4r5t6y7u8i", "zaq12wsxcde34rfv", "qazwsxedcrfvtgby", "000000000000000", "111111111111111",
    "aaaaaaaaaaaaaaa", "p@ssw0rdp@ssw0rd", "passwordpassword1", "mypasswordisstrong", "thisismypassword",
    "defaultpassword", "defaultpassword1", "pleasechangeme", "pleasechangemenow",
};

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool Sequential(std::string_view s) {
  if (s.size() < 3) return false;
  int step = s[1] - s[0];
  if (step != 1 && step != -1) return false;
  for (size_t i = 2; i < s.size(); ++i) {
    if (s[i] - s[i - 1] != step) return false;
  }
  return true;
}

// A resolved seed value.
struct Value {
  std::optional<std::string> text;
  bool is_password = false;
};

class Seeder {
 public:
  Seeder(db::Connection& conn, const schema::Schema& s, const AuthConfig& c, const std::string& file, const SeedOptions& o)
      : conn_(conn), b_(conn.backend()), s_(s), c_(c), file_(file), o_(o) {}

  Result<SeedReport> Run(const toml::table& root) {
    struct Entry {
      std::string table;
      const toml::table* row;
      int line, column;
    };
    std::vector<Entry> entries;
    for (auto&& [k, v] : root) {
      const std::string table(k.str());
      const toml::array* arr = v.as_array();
      if (arr == nullptr || !arr->is_array_of_tables()) {
        return Error(v, "'" + table + "' must be an array of tables: write each row as [[" + table + "]]");
      }
      for (const auto& e : *arr) {
        entries.push_back({table, e.as_table(), static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column)});
      }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    for (const Entry& e : entries) PLINTH_RETURN_IF_ERROR(Apply(e.table, *e.row));
    return report_;
  }

 private:
  Status Error(const toml::node& n, std::string message) {
    return Status(Code::kInvalidArgument, file_ + ":" + std::to_string(n.source().begin.line) + ":" +
                                              std::to_string(n.source().begin.column) + ": " + message);
  }

  std::optional<std::string> Env(const std::string& name) {
    if (o_.env) return o_.env(name);
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }

  // "${VAR}" and "${VAR:-default}" substitutions in a string.
  Result<std::string> Expand(const toml::node& n, std::string_view text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t start = text.find("${", i);
      if (start == std::string_view::npos) {
        out += text.substr(i);
        break;
      }
      out += text.substr(i, start - i);
      size_t end = text.find('}', start);
      if (end == std::string_view::npos) return Error(n, "unterminated ${…} in '" + std::string(text) + "'");
      std::string spec(text.substr(start + 2, end - start - 2));
      std::optional<std::string> fallback;
      if (auto d = spec.find(":-"); d != std::string::npos) {
        fallback = spec.substr(d + 2);
        spec.resize(d);
      }
      std::optional<std::string> v = Env(spec);
      if (!v || v->empty()) v = fallback;
      if (!v) return Error(n, "environment variable " + spec + " is not set (the seed file needs it)");
      out += *v;
      i = end + 1;
    }
    return out;
  }

  Result<Value> Resolve(const schema::Table& t, const schema::Column& col, const toml::node& n) {
    Value v;
    const bool is_password_col = t.name == c_.users.table && col.name == c_.users.password && !c_.users.password.empty();
    if (const toml::table* spec = n.as_table()) {
      if (const toml::node* pw = spec->get("password")) {
        // The mapped password column, or any text column of an app whose [auth.users] maps
        // none (curatore seeds its admin's hash before it has password logins).
        if (!is_password_col && col.type.kind != schema::TypeKind::kText) {
          return Error(n, "{ password = … } stores an Argon2id hash: column " + t.name + "." + col.name + " is not text");
        }
        const auto* s = pw->as_string();
        if (s == nullptr) return Error(*pw, "password must be a string (usually \"${ADMIN_PASSWORD}\")");
        PLINTH_ASSIGN_OR_RETURN(std::string plain, Expand(*pw, s->get()));
        v.text = plain;
        v.is_password = true;
        return v;
      }
      if (const toml::node* ref = spec->get("ref")) {
        const auto* rt = ref->as_string();
        const toml::table* match = spec->get("match") ? spec->get("match")->as_table() : nullptr;
        if (rt == nullptr || match == nullptr) {
          return Error(n, "a reference is { ref = \"TABLE\", match = { COLUMN = VALUE, … } }");
        }
        const schema::Table* target = s_.FindTable(rt->get());
        if (target == nullptr) return Error(*ref, "no table '" + rt->get() + "' in the schema");
        std::vector<std::pair<const schema::Column*, std::string>> where;
        for (auto&& [k, mv] : *match) {
          const schema::Column* mc = target->FindColumn(k.str());
          if (mc == nullptr) return Error(mv, "table " + target->name + " has no column '" + std::string(k.str()) + "'");
          PLINTH_ASSIGN_OR_RETURN(Value x, Resolve(*target, *mc, mv));
          if (!x.text) return Error(mv, "a reference cannot match NULL");
          where.emplace_back(mc, *x.text);
        }
        PLINTH_ASSIGN_OR_RETURN(std::optional<std::string> id, FindId(*target, where));
        if (!id) return Error(n, "no row of " + target->name + " matches this reference (seed it earlier in the file)");
        v.text = *id;
        return v;
      }
      return Error(n, "a value table must be { ref = …, match = … } or { password = … }; JSON values are written as strings");
    }
    if (is_password_col) {
      return Error(n, "the password column takes { password = \"${ADMIN_PASSWORD}\" } so the value is checked and hashed");
    }
    if (const auto* s = n.as_string()) {
      PLINTH_ASSIGN_OR_RETURN(std::string text, Expand(n, s->get()));
      if (col.type.kind == schema::TypeKind::kJson) {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded()) return Error(n, "column " + t.name + "." + col.name + " is json: the string must be JSON");
        text = j.dump();
      }
      if (col.type.kind == schema::TypeKind::kBoolean) {
        if (text != "true" && text != "false") return Error(n, "column " + col.name + " is boolean: true or false");
      }
      v.text = text;
      return v;
    }
    if (const auto* bv = n.as_boolean()) {
      if (col.type.kind != schema::TypeKind::kBoolean) return Error(n, "column " + col.name + " is not boolean");
      v.text = bv->get() ? "true" : "false";
      return v;
    }
    if (const auto* iv = n.as_integer()) {
      v.text = std::to_string(iv->get());
      return v;
    }
    if (const auto* arr = n.as_array()) {
      if (col.type.kind != schema::TypeKind::kJson) return Error(n, "only json columns take arrays");
      nlohmann::json j = nlohmann::json::array();
      for (const auto& e : *arr) {
        if (const auto* s = e.as_string()) {
          PLINTH_ASSIGN_OR_RETURN(std::string x, Expand(e, s->get()));
          j.push_back(x);
        } else if (const auto* i = e.as_integer()) {
          j.push_back(i->get());
        } else if (const auto* b = e.as_boolean()) {
          j.push_back(b->get());
        } else {
          return Error(e, "json arrays in seeds hold strings, integers or booleans");
        }
      }
      v.text = j.dump();
      return v;
    }
    return Error(n, "unsupported value for column " + col.name + " (strings, integers, booleans, arrays, references)");
  }

  std::string Bind(const schema::Column& c, const std::string& v) const {
    if (b_ == db::Backend::kSqlite && c.type.kind == schema::TypeKind::kBoolean) return v == "true" ? "1" : "0";
    return v;
  }

  std::string Canonical(const schema::Column& c, const std::optional<std::string>& stored) const {
    if (!stored) return "\x01NULL";
    if (c.type.kind == schema::TypeKind::kBoolean) return internal::ParseBool(stored) ? "true" : "false";
    if (c.type.kind == schema::TypeKind::kJson) {
      auto j = nlohmann::json::parse(*stored, nullptr, false);
      return j.is_discarded() ? *stored : j.dump();
    }
    return *stored;
  }

  std::string TextOut(const schema::Column& c) const {
    if (b_ == db::Backend::kPostgres) {
      if (c.type.kind == schema::TypeKind::kTimestamp) return internal::TimestampOut(b_, Q(c.name));
      return Q(c.name) + "::text";
    }
    return Q(c.name);
  }

  Result<std::optional<std::string>> FindId(const schema::Table& t,
                                            const std::vector<std::pair<const schema::Column*, std::string>>& where) {
    const schema::Constraint* pk = t.PrimaryKey();
    const schema::Column* id = t.FindColumn("id");
    if (id == nullptr || pk == nullptr) return Status(Code::kInvalidArgument, "table " + t.name + " has no id column to reference");
    std::vector<std::string> conds;
    db::Params params;
    for (const auto& [c, v] : where) {
      params.push_back(Bind(*c, v));
      conds.push_back(Q(c->name) + " = " + PT(b_, static_cast<int>(params.size()), internal::PgTypeOf(*c)));
    }
    PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, Query(conn_, "seed: resolving a reference to " + t.name,
                                                     "SELECT " + TextOut(*id) + " FROM " + Q(t.name) + " WHERE " +
                                                         Join(conds, " AND ") + " LIMIT 2",
                                                     params));
    if (r.rows.size() > 1) return Status(Code::kInvalidArgument, "a reference to " + t.name + " matches several rows: match more columns");
    if (r.rows.empty()) return std::optional<std::string>{};
    return r.rows[0][0];
  }

  Status Apply(const std::string& table, const toml::table& row) {
    const schema::Table* t = s_.FindTable(table);
    if (t == nullptr) return Error(row, "no table '" + table + "' in the schema");
    std::vector<std::string> match;
    bool update = false;
    std::vector<std::pair<const schema::Column*, Value>> values;
    const toml::node* match_node = nullptr;
    for (auto&& [k, v] : row) {
      const std::string key(k.str());
      if (key == "_match") {
        match_node = &v;
        const toml::array* arr = v.as_array();
        if (arr == nullptr) return Error(v, "_match must list the columns of the natural key");
        for (const auto& e : *arr) {
          if (!e.is_string()) return Error(e, "_match holds column names");
          match.push_back(e.as_string()->get());
        }
        continue;
      }
      if (key == "_update") {
        if (!v.is_boolean()) return Error(v, "_update must be true or false");
        update = v.as_boolean()->get();
        continue;
      }
      const schema::Column* col = t->FindColumn(key);
      if (col == nullptr) return Error(v, "table " + t->name + " has no column '" + key + "'");
      PLINTH_ASSIGN_OR_RETURN(Value val, Resolve(*t, *col, v));
      values.emplace_back(col, std::move(val));
    }
    if (match.empty()) return Error(row, "[[" + table + "]] needs _match = [\"COLUMN\", …]: the natural key that finds the row again");
    if (t->options.tenant_scoped &&
        std::find(match.begin(), match.end(), s_.app.tenant_column) == match.end()) {
      match.insert(match.begin(), s_.app.tenant_column);
    }
    std::vector<std::pair<const schema::Column*, std::string>> where;
    for (const auto& m : match) {
      auto it = std::find_if(values.begin(), values.end(), [&](const auto& p) { return p.first->name == m; });
      if (it == values.end() || !it->second.text) {
        return Error(match_node ? *match_node : static_cast<const toml::node&>(row),
                     "natural key column '" + m + "' needs a value in this row");
      }
      if (it->second.is_password) return Error(row, "a password cannot be part of the natural key");
      where.emplace_back(it->first, *it->second.text);
    }
    std::string desc = table;
    for (const auto& [c, v] : where) desc += " " + c->name + "=" + v;

    // Does the row exist?
    std::vector<std::string> sel, conds;
    db::Params params;
    for (const auto& [c, v] : values) sel.push_back(TextOut(*c));
    for (const auto& [c, v] : where) {
      params.push_back(Bind(*c, v));
      conds.push_back(Q(c->name) + " = " + PT(b_, static_cast<int>(params.size()), internal::PgTypeOf(*c)));
    }
    PLINTH_ASSIGN_OR_RETURN(db::QueryResult existing,
                            Query(conn_, "seed: " + desc,
                                  "SELECT " + Join(sel, ", ") + " FROM " + Q(t->name) + " WHERE " + Join(conds, " AND ") + " LIMIT 2",
                                  params));
    if (existing.rows.size() > 1) return Error(row, "_match of " + desc + " finds several rows: it is not a natural key");
    if (!existing.rows.empty()) {
      std::vector<std::string> sets;
      db::Params up;
      if (update) {
        for (size_t i = 0; i < values.size(); ++i) {
          const auto& [c, v] = values[i];
          if (v.is_password) continue;  // an existing account's password is never reset by a seed
          if (Canonical(*c, existing.rows[0][i]) == (v.text ? *v.text : "\x01NULL")) continue;
          up.push_back(v.text ? std::optional<std::string>(Bind(*c, *v.text)) : std::nullopt);
          sets.push_back(Q(c->name) + " = " + PT(b_, static_cast<int>(up.size()), internal::PgTypeOf(*c)));
        }
      }
      if (sets.empty()) {
        ++report_.unchanged;
        report_.lines.push_back("unchanged " + desc);
        return Status::Ok();
      }
      std::vector<std::string> wc;
      for (const auto& [c, v] : where) {
        up.push_back(Bind(*c, v));
        wc.push_back(Q(c->name) + " = " + PT(b_, static_cast<int>(up.size()), internal::PgTypeOf(*c)));
      }
      if (!o_.dry_run) {
        PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, Query(conn_, "seed: updating " + desc,
                                                         "UPDATE " + Q(t->name) + " SET " + Join(sets, ", ") + " WHERE " +
                                                             Join(wc, " AND "),
                                                         up));
        (void)r;
      }
      ++report_.updated;
      report_.lines.push_back("update " + desc);
      return Status::Ok();
    }
    // Insert.
    std::vector<std::string> cols, vals;
    db::Params ins;
    std::vector<std::string> context;
    for (const auto& [c, v] : values) {
      if (!v.is_password && v.text) context.push_back(*v.text);
    }
    bool has_id = false;
    for (auto& [c, v] : values) {
      if (c->name == "id") has_id = true;
      std::optional<std::string> text = v.text;
      if (v.is_password) {
        PLINTH_RETURN_IF_ERROR(CheckPasswordStrength(*v.text, o_.min_password_length, context)
                                   .WithContext("seed: the password of " + desc));
        PLINTH_ASSIGN_OR_RETURN(std::string phc, crypto::HashPassword(*v.text, o_.argon2));
        text = phc;
      }
      cols.push_back(Q(c->name));
      ins.push_back(text ? std::optional<std::string>(Bind(*c, *text)) : std::nullopt);
      vals.push_back(PT(b_, static_cast<int>(ins.size()), internal::PgTypeOf(*c)));
    }
    const schema::Column* id = t->FindColumn("id");
    if (!has_id && id != nullptr && id->type.kind == schema::TypeKind::kUuid) {
      cols.push_back(Q("id"));
      ins.push_back(internal::NewUuid());
      vals.push_back(PT(b_, static_cast<int>(ins.size()), "uuid"));
    }
    if (!o_.dry_run) {
      PLINTH_ASSIGN_OR_RETURN(db::QueryResult r, Query(conn_, "seed: inserting " + desc,
                                                       "INSERT INTO " + Q(t->name) + " (" + Join(cols, ", ") + ") VALUES (" +
                                                           Join(vals, ", ") + ")",
                                                       ins));
      (void)r;
    }
    ++report_.inserted;
    report_.lines.push_back("insert " + desc);
    return Status::Ok();
  }

  db::Connection& conn_;
  db::Backend b_;
  const schema::Schema& s_;
  const AuthConfig& c_;
  const std::string& file_;
  const SeedOptions& o_;
  SeedReport report_;
};

}  // namespace

Status CheckPasswordStrength(std::string_view password, size_t min_length, const std::vector<std::string>& context) {
  const size_t n = CodePoints(password);
  if (n < min_length) {
    return Status(Code::kInvalidArgument, "the password is too short: " + std::to_string(n) + " characters, at least " +
                                              std::to_string(min_length) + " are required (NIST SP 800-63B-4)");
  }
  if (password.size() > crypto::kMaxPasswordBytes) {
    return Status(Code::kInvalidArgument, "the password is longer than " + std::to_string(crypto::kMaxPasswordBytes) + " bytes");
  }
  const std::string lower = ToLower(password);
  for (std::string_view bad : kBlocklist) {
    if (lower == bad) return Status(Code::kInvalidArgument, "the password is on the list of common passwords: choose another");
  }
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; }) || Sequential(password)) {
    return Status(Code::kInvalidArgument, "the password is a repeated or sequential run of characters: choose another");
  }
  for (const auto& c : context) {
    if (!c.empty() && lower == ToLower(c)) {
      return Status(Code::kInvalidArgument, "the password equals another value of the account (name or e-mail): choose another");
    }
  }
  return Status::Ok();
}

Result<SeedReport> ApplySeedText(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                 std::string_view text, const std::string& file_name, const SeedOptions& options) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file_name));
  } catch (const toml::parse_error& e) {
    return Status(Code::kInvalidArgument, file_name + ":" + std::to_string(e.source().begin.line) + ":" +
                                              std::to_string(e.source().begin.column) + ": TOML syntax error: " +
                                              std::string(e.description()));
  }
  const bool pg = conn.backend() == db::Backend::kPostgres;
  PLINTH_RETURN_IF_ERROR(conn.Exec(pg ? "BEGIN" : "BEGIN IMMEDIATE"));
  Seeder seeder(conn, schema, config, file_name, options);
  Result<SeedReport> r = seeder.Run(root);
  if (!r.ok() || options.dry_run) {
    (void)conn.Exec("ROLLBACK");
    return r;
  }
  PLINTH_RETURN_IF_ERROR(conn.Exec("COMMIT"));
  return r;
}

Result<SeedReport> ApplySeedFile(db::Connection& conn, const schema::Schema& schema, const AuthConfig& config,
                                 const std::string& seed_path, const SeedOptions& options) {
  std::string text;
  if (!ReadFile(seed_path, text)) {
    return Status(Code::kNotFound, "cannot read the seed file " + seed_path + ": " + std::strerror(errno));
  }
  return ApplySeedText(conn, schema, config, text, seed_path, options);
}

}  // namespace plinth::auth
