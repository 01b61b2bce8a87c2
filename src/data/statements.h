// data/statements.h — the SQL the data runtime sends, per dialect, built once per statement
// shape and cached (internal to the data layer).
//
// A statement is written by a builder through an Emitter. The first time a shape is seen the
// builder runs in text mode and the Emitter records the SQL and what each placeholder is bound
// to (a claim of the principal or the n-th value); the Template is cached under the shape's
// key. Later calls of the same shape run the builder in values-only mode, which appends no
// text: the hot path only collects and binds values.
//
// Thread-safety: TableInfo and Template are immutable; the Emitter is used by one call.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/policy.h"
#include "plinth/data.h"
#include "plinth/database.h"
#include "plinth/expr.h"
#include "plinth/schema.h"

namespace plinth::data::internal {

using expr::Dialect;

struct ColInfo {
  const schema::Column* column = nullptr;
  int index = 0;
  bool stored_bytes = false;  // bytes, or encrypted (ciphertext)
  bool returned = false;      // in the default select (not hidden, not write-only)
  bool write_only = false;    // never returned
  bool redacted = false;      // audit rows show "[redacted]" (encrypted or hidden)
  bool nullable = true;       // NULL allowed (not not_null and not in the key)
  bool has_default = false;
};

struct TableInfo {
  const schema::Table* table = nullptr;
  std::string name;
  std::string quoted;                 // "name"
  std::vector<ColInfo> cols;
  std::map<std::string, int, std::less<>> by_name;
  int tenant_col = -1;                // tenant column of a tenant-scoped table
  std::vector<int> pk;                // primary key columns (tenant column first when scoped)
  int id_col = -1;                    // the "id" column of the key, when the key has one
  bool id_generated = false;          // uuid id that plinth generates when absent
  std::vector<int> default_select;
  bool timestamps = false;            // updated_at maintained by the database
  int updated_at_col = -1;
  bool has_encrypted = false;
  const TablePolicies* policies = nullptr;  // SQLite

  const ColInfo* Find(std::string_view column) const {
    auto it = by_name.find(column);
    return it == by_name.end() ? nullptr : &cols[static_cast<size_t>(it->second)];
  }
  bool tenant_scoped() const { return tenant_col >= 0; }
};

struct ParamRef {
  enum class Kind : unsigned char { kClaim, kValue };
  Kind kind = Kind::kValue;
  int index = 0;
};

struct Template {
  std::string sql;
  std::vector<ParamRef> refs;
};

class Emitter {
 public:
  Emitter(Dialect d, bool text) : d_(d), text_(text) {}
  bool text() const { return text_; }
  Dialect dialect() const { return d_; }
  bool pg() const { return d_ == Dialect::kPostgres; }

  // Starts the next statement.
  void Begin();
  Emitter& Sql(std::string_view s) {
    if (text_) current_.sql += s;
    return *this;
  }
  // Text that costs something to compute (quoting, lists): computed in text mode only, so that
  // the hot path of a cached shape builds no SQL at all.
  Emitter& Ident(std::string_view name) {
    if (text_) current_.sql += db::QuoteIdent(name);
    return *this;
  }
  Emitter& Columns(const TableInfo& t, const std::vector<int>& cols) {
    if (!text_) return *this;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i) current_.sql += ", ";
      current_.sql += db::QuoteIdent(t.cols[static_cast<size_t>(cols[i])].column->name);
    }
    return *this;
  }
  template <typename MakeText>
  Emitter& Lazy(MakeText&& make) {
    if (text_) current_.sql += make();
    return *this;
  }
  // A value of a column, in its stored form (BindText already applied), with the cast the
  // dialect needs.
  void ColumnValue(const ColInfo& c, db::Params::value_type v);
  void TextValue(db::Params::value_type v);   // text parameter
  void IntValue(int64_t v);                   // integer parameter
  void ClaimParam(int claim, const Policies* policies);  // a claim of the principal
  // A predicate with claim markers.
  void Pred(std::string_view marked, const Policies* policies);

  std::vector<Template> TakeTemplates();
  std::vector<std::vector<db::Params::value_type>>& values() { return values_; }
  size_t statements() const { return values_.size(); }

 private:
  std::string Placeholder(size_t n) const { return (pg() ? "$" : "?") + std::to_string(n); }

  Dialect d_;
  bool text_;
  bool started_ = false;
  Template current_;
  std::map<int, size_t> claim_slots_;  // claim → placeholder number in the current statement
  std::vector<Template> done_;
  std::vector<std::vector<db::Params::value_type>> values_;
};

// The type cast PostgreSQL needs for a parameter of the column ("uuid", "text", "\"enum\"", …).
std::string PgCast(const schema::Column& c);
// SQLite: CAST(? AS <affinity>) for the column, "" when the parameter is text.
std::string SqliteCast(const schema::Column& c);

// A cache of templates by shape key (bounded; past the bound shapes are built each time).
class TemplateCache {
 public:
  std::shared_ptr<const std::vector<Template>> Find(const std::string& key) const;
  void Put(const std::string& key, std::shared_ptr<const std::vector<Template>> t);
  size_t size() const;

 private:
  static constexpr size_t kMaxShapes = 4096;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const std::vector<Template>>, std::less<>> map_;
};

// The value a claim is bound to for `p` (SQLite statements and the tenant condition).
db::Params::value_type ClaimValue(const Claim& c, const Principal& p);

// Parameters of one statement.
db::Params Bind(const Template& t, const std::vector<db::Params::value_type>& values, const Policies& policies,
                const Principal& p);

// JSON string literal of UTF-8 text.
std::string JsonQuote(std::string_view s);

// A LIKE pattern (backslash escapes) as an SQLite GLOB pattern (case-sensitive, like
// PostgreSQL's LIKE).
std::string LikeToGlob(std::string_view pattern);

}  // namespace plinth::data::internal
