// RenderPlan: one migration's operations → ordered units of SQL for a dialect.
//
// The state is replayed operation by operation (migrate::ApplyOp) so each renderer sees the
// schema before and after its operation: SQLite rebuilds need the whole new table, PostgreSQL
// type changes need what depends on a column.
#include <set>

#include "sql/internal.h"

namespace plinth::sql {
namespace {

using migrate::Op;
using migrate::OpKind;

const std::string& OpTable(const Op& op) {
  const bool whole_table = op.kind == OpKind::kCreateTable || op.kind == OpKind::kDropTable;
  return whole_table && !op.table_def.name.empty() ? op.table_def.name : op.table;
}

struct DeferredValidation {
  size_t op_index = 0;
  std::string op_description;
  internal::PendingValidation target;
};

// The table a postponed VALIDATE applies to once the rest of the migration ran, or nullopt
// when a later operation dropped the constraint or its table.
std::optional<std::string> FinalTableOf(const std::vector<Op>& ops, const DeferredValidation& v) {
  std::string table = v.target.table;
  for (size_t j = v.op_index + 1; j < ops.size(); ++j) {
    const Op& op = ops[j];
    if (op.kind == OpKind::kRenameTable && op.table == table) table = op.new_name;
    if (op.kind == OpKind::kDropTable && OpTable(op) == table) return std::nullopt;
    if (op.kind == OpKind::kDropConstraint && op.table == table && op.constraint.name == v.target.constraint) {
      return std::nullopt;
    }
  }
  return table;
}

}  // namespace

Result<MigrationPlan> RenderPlan(Dialect dialect, const std::vector<Op>& ops, const schema::Schema& before) {
  MigrationPlan plan;
  schema::Schema state = before;
  std::set<std::string> preexisting;
  for (const auto& t : before.tables) preexisting.insert(t.name);
  std::vector<DeferredValidation> deferred;

  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const std::string context = "operation " + std::to_string(i + 1) + " (" + op.Describe() + ")";
    schema::Schema after = state;
    Status applied = migrate::ApplyOp(after, op);
    if (!applied.ok()) return applied.WithContext(context);

    internal::OpInput in{ops, i, op, state, after, preexisting.count(OpTable(op)) > 0};
    Result<internal::OpOutput> out =
        dialect == Dialect::kPostgres ? internal::RenderPostgresOp(in) : internal::RenderSqliteOp(in);
    if (!out.ok()) return out.status().WithContext(context);

    for (Unit& unit : out->units) {
      if (unit.statements.empty()) continue;
      unit.op_index = i;
      unit.op_description = op.Describe();
      plan.units.push_back(std::move(unit));
    }
    if (out->rebuilds_table) plan.sqlite_foreign_keys_off = true;
    for (auto& v : out->validations) deferred.push_back(DeferredValidation{i, op.Describe(), std::move(v)});

    if (op.kind == OpKind::kRenameTable && preexisting.erase(op.table) > 0) preexisting.insert(op.new_name);
    if (op.kind == OpKind::kDropTable) preexisting.erase(OpTable(op));
    state = std::move(after);
  }

  // VALIDATE CONSTRAINT after the transaction: it scans the table under SHARE UPDATE EXCLUSIVE,
  // so reads and writes go on; validating a valid constraint again is a no-op (resumable).
  for (const auto& v : deferred) {
    std::optional<std::string> table = FinalTableOf(ops, v);
    if (!table) continue;
    Unit unit;
    unit.transactional = false;
    unit.op_index = v.op_index;
    unit.op_description = v.op_description;
    unit.statements.push_back(Statement{"ALTER TABLE " + internal::Ident(*table) + " VALIDATE CONSTRAINT " +
                                            internal::Ident(v.target.constraint),
                                        Expect::kNothing, {}});
    plan.units.push_back(std::move(unit));
  }
  return plan;
}

}  // namespace plinth::sql
