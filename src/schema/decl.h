// schema/decl.h — the schema as declared in the file, before expansion (internal to the schema
// layer).
//
// The reader (reader.cc) turns the TOML document into these declarations, reporting problems of
// shape: unknown keys, values of the wrong TOML type, bad names, unknown types, defaults that
// do not fit. The expander (expand.cc) turns them into the expanded `schema::Schema`, reporting
// problems between objects: references, keys, tenant rules, name collisions, expressions.
// Every declaration keeps where it was written, so both can point at the offending text.
//
// Thread-safety: plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plinth/diagnostic.h"
#include "plinth/schema.h"
#include "schema/toml_source.h"

namespace plinth::schema::decl {

// An expression written as a TOML string.
struct Expr {
  std::string text;
  SourcePos pos;              // the string token (its opening quote)
  StringPositions positions;  // maps positions inside the text to the file
};

// A list of column names (a key, an index), each with where it was written.
struct ColumnList {
  std::vector<std::string> names;
  std::vector<SourcePos> name_pos;
  std::vector<bool> descending;  // indexes only
  SourcePos pos;                 // the list, or the attribute that implies it
};

struct Column {
  schema::Column column;  // name, type, not_null, default, encrypted, file-only attributes, pos
  bool type_valid = false;
  bool primary_key = false;
  // Every key written in the column's table, with the position of the key.
  std::map<std::string, SourcePos, std::less<>> keys;

  bool Has(std::string_view key) const { return keys.find(key) != keys.end(); }
  // Position of `key`, or of the column when the key is absent.
  SourcePos KeyPos(std::string_view key) const {
    auto it = keys.find(key);
    return it == keys.end() ? column.pos : it->second;
  }
};

struct Unique {
  ColumnList columns;
  bool from_column = false;  // `unique = true` on a column
};

struct Check {
  std::string name;  // the column's name for a column check
  SourcePos pos;     // the key (`check` or `checks.NAME`)
  bool from_column = false;
  Expr expr;
};

struct ForeignKey {
  std::string name;  // the column's name for a column reference, else foreign_keys.NAME
  SourcePos pos;     // the key (`references` or `foreign_keys.NAME`)
  bool from_column = false;
  ColumnList columns;
  std::string ref_table;
  SourcePos ref_table_pos;
  ColumnList ref_columns;  // empty: the referenced table's primary key
  FkAction on_delete = FkAction::kNoAction;
  FkAction on_update = FkAction::kNoAction;
  SourcePos on_delete_pos, on_update_pos;  // set when written
};

struct Index {
  std::string name;  // the NAME of indexes.NAME
  SourcePos pos;
  ColumnList columns;
  bool unique = false;
  std::optional<Expr> where;
  std::optional<bool> tenant_prefix;
  SourcePos tenant_prefix_pos;
};

struct Policy {
  std::string name;
  SourcePos pos;        // the policy's table in the array
  SourcePos name_pos;   // the name's value
  std::vector<PolicyCommand> commands;  // at least one, distinct
  bool commands_from_list = false;      // `for` was an array: names get a command suffix
  SourcePos for_pos;
  bool restrictive = false;
  std::optional<Expr> using_expr;
  std::optional<Expr> check_expr;
  SourcePos using_key_pos, check_key_pos;
};

struct Table {
  schema::Table table;  // name, options (tenant_scoped, timestamps, append_only), file-only attributes
  std::vector<Column> columns;  // file order
  std::optional<ColumnList> primary_key;  // table-level `primary_key = [...]`
  std::vector<Unique> uniques;
  std::vector<Check> checks;
  std::vector<ForeignKey> foreign_keys;
  std::vector<Index> indexes;
  std::vector<Policy> policies;
  std::optional<bool> tenant_policy;
  // Every table-level key written, with the position of the key.
  std::map<std::string, SourcePos, std::less<>> keys;

  const Column* FindColumn(std::string_view name) const {
    for (const Column& c : columns) {
      if (c.column.name == name) return &c;
    }
    return nullptr;
  }
  SourcePos KeyPos(std::string_view key) const {
    auto it = keys.find(key);
    return it == keys.end() ? table.pos : it->second;
  }
};

struct Schema {
  AppConfig app;
  bool has_app = false;
  SourcePos app_pos;
  SourcePos tenants_pos;        // the value of app.tenants
  SourcePos tenant_column_pos;  // the value of app.tenant_column
  std::vector<Enum> enums;      // file order
  std::map<std::string, SourcePos> enum_renamed_from_pos;  // enum name → its renamed_from value
  std::vector<Table> tables;    // file order

  const Table* FindTable(std::string_view name) const {
    for (const Table& t : tables) {
      if (t.table.name == name) return &t;
    }
    return nullptr;
  }
};

}  // namespace plinth::schema::decl
