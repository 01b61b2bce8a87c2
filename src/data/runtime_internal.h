// data/runtime_internal.h — pieces of the runtime shared by its source files (internal to the
// data layer): the validated forms of writes and list queries.
//
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/statements.h"
#include "plinth/data.h"

namespace plinth::data::internal {

using Param = db::Params::value_type;

// A write after validation: every value canonical, encrypted values already ciphertext.
struct PreparedWrite {
  Write::Kind kind = Write::Kind::kInsert;
  const TableInfo* table = nullptr;
  std::vector<std::pair<int, Value>> fields;  // column index → stored canonical value
  std::vector<Value> key;                     // primary key values (in TableInfo::pk order)
  Value id;                                   // kUpdate / kDelete: the id (canonical)
  std::string row_key;                        // for the audit row
  std::string changes;                        // audit JSON (canonical)
  std::vector<int> fetch;                     // columns returned by the statement
  std::vector<int> out;                       // columns of the RowSet
  bool admin = false;
  Value tenant;                               // the tenant the write is restricted to / audited under
  std::string shape;                          // cache key part
  const Value* FieldValue(int col) const {
    for (const auto& [c, v] : fields) {
      if (c == col) return &v;
    }
    return nullptr;
  }
};

// A validated filter tree: bind-ready values.
struct VFilter {
  Filter::Kind kind = Filter::Kind::kAll;
  int col = -1;
  FilterOp op = FilterOp::kEq;
  std::vector<Param> values;  // one bound value per parameter
  std::vector<VFilter> children;
};

struct VOrder {
  int col = -1;
  bool descending = false;
  bool nulls_first = false;
};

struct VList {
  const TableInfo* table = nullptr;
  VFilter where;
  std::vector<VOrder> order;  // with the primary key appended
  int64_t limit = 0;
  int64_t offset = 0;
  bool has_cursor = false;
  std::vector<Value> cursor;  // canonical, one per order entry
  std::vector<int> out;
  std::vector<int> fetch;
  bool count = false;
  bool secret = false;
  std::string shape;
};

}  // namespace plinth::data::internal
