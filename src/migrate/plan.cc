// Planning: a migration's up or down plan rendered against the replayed schema state, turned
// into its script; and the offline script of `migrate sql`.
#include <algorithm>
#include <limits>

#include "migrate/internal.h"

namespace plinth::runner {
namespace internal {
namespace {

std::string Label(const migrate::Migration& m) { return "migration " + m.version + " (" + m.name + ")"; }

Result<sql::MigrationPlan> Render(sql::Dialect d, const migrate::Migration& m, const std::vector<migrate::Op>& ops,
                                  const schema::Schema& before, Direction dir) {
  auto plan = sql::RenderPlan(d, ops, before);
  if (!plan.ok()) {
    return plan.status().WithContext("cannot render the " + std::string(DirectionName(dir)) + " of " + Label(m) +
                                     " for " + std::string(sql::DialectName(d)));
  }
  return plan;
}

Status ApplyAll(schema::Schema& state, const migrate::Migration& m, const std::vector<migrate::Op>& ops,
                size_t begin, size_t end, std::string_view what) {
  for (size_t i = begin; i < end; ++i) {
    Status st = migrate::ApplyOp(state, ops[i]);
    if (!st.ok()) return st.WithContext("replaying the " + std::string(what) + " of " + Label(m));
  }
  return Status::Ok();
}

// Number of leading up operations whose every unit is among the first `steps` units, and
// whether some unit among them belongs to a later operation (then the completed work is not a
// prefix of operations).
struct DonePrefix {
  size_t ops = 0;
  bool ragged = false;
  size_t ragged_unit = 0;
};

DonePrefix DoneOps(const sql::MigrationPlan& plan, size_t op_count, size_t steps) {
  DonePrefix out;
  while (out.ops < op_count) {
    bool done = true;
    for (size_t u = 0; u < plan.units.size(); ++u) {
      if (plan.units[u].op_index == out.ops && u >= steps) done = false;
    }
    if (!done) break;
    ++out.ops;
  }
  for (size_t u = 0; u < steps && u < plan.units.size(); ++u) {
    if (plan.units[u].op_index >= out.ops) {
      out.ragged = true;
      out.ragged_unit = u;
      break;
    }
  }
  return out;
}

// Longest prefix of up units that belong to the first `applied_ops` operations.
size_t UnitsForOps(const sql::MigrationPlan& up_plan, size_t applied_ops) {
  size_t p = 0;
  while (p < up_plan.units.size() && up_plan.units[p].op_index < applied_ops) ++p;
  return p;
}

// Down plans that run as several transactions record their progress in up steps: after down
// units [0, e] ran, the down operations completed undo the last up operations, and steps_done
// is the prefix of up units whose operations are still applied. An operation half undone
// counts as still applied.
std::vector<size_t> DownProgress(const sql::MigrationPlan& down_plan, const sql::MigrationPlan& up_plan,
                                 size_t applied_ops) {
  std::vector<size_t> out(down_plan.units.size());
  for (size_t e = 0; e < down_plan.units.size(); ++e) {
    size_t undone = 0;
    while (undone < applied_ops) {
      bool done = true;
      for (size_t u = e + 1; u < down_plan.units.size(); ++u) {
        if (down_plan.units[u].op_index == undone) done = false;
      }
      if (!done) break;
      ++undone;
    }
    out[e] = UnitsForOps(up_plan, applied_ops - undone);
  }
  return out;
}

std::vector<std::string> DataLossOps(const std::vector<migrate::Op>& ops, size_t begin, size_t end) {
  std::vector<std::string> out;
  for (size_t i = begin; i < end; ++i) {
    if (ops[i].data_loss) out.push_back(ops[i].Describe());
  }
  return out;
}

}  // namespace

Result<MigrationScript> PlanUp(sql::Dialect d, const migrate::Migration& m, schema::Schema& state,
                               size_t steps_done, std::optional<size_t> recorded_total) {
  PLINTH_ASSIGN_OR_RETURN(sql::MigrationPlan plan, Render(d, m, m.up, state, Direction::kUp));
  if (recorded_total && *recorded_total != plan.units.size()) {
    return Status(Code::kFailedPrecondition,
                  Label(m) + " is partially applied (" + std::to_string(steps_done) + " of " +
                      std::to_string(*recorded_total) + " steps), but plinth now renders it as " +
                      std::to_string(plan.units.size()) +
                      " steps (plinth was upgraded or the file changed), so it cannot resume by step number. "
                      "Finish or undo its remaining steps by hand, then record the result with `plinth migrate "
                      "stamp`");
  }
  // Data-losing operations that still have a step to run.
  std::vector<std::string> loss;
  for (size_t i = 0; i < m.up.size(); ++i) {
    if (!m.up[i].data_loss) continue;
    bool pending = steps_done == 0;
    for (size_t u = steps_done; u < plan.units.size(); ++u) {
      if (plan.units[u].op_index == i) pending = true;
    }
    if (pending) loss.push_back(m.up[i].Describe());
  }
  MigrationScriptInput in;
  in.dialect = d;
  in.migration = &m;
  in.direction = Direction::kUp;
  in.plan = &plan;
  in.first_unit = steps_done;
  in.steps_total = plan.units.size();
  in.steps_before = steps_done;
  in.data_loss = std::move(loss);
  MigrationScript script = BuildMigrationScript(in);
  PLINTH_RETURN_IF_ERROR(ApplyAll(state, m, m.up, 0, m.up.size(), "up"));
  return script;
}

Result<MigrationScript> PlanDown(sql::Dialect d, const std::vector<migrate::Migration>& migrations, size_t index,
                                 schema::Schema& state, std::optional<Recorded> recorded) {
  const migrate::Migration& m = migrations[index];
  const bool partial = recorded && recorded->steps_done < recorded->steps_total;
  const bool mirrored = m.down.size() == m.up.size();

  if (partial) {
    // `state` is the state before m; the completed operations are replayed on a copy.
    if (!mirrored) {
      return Status(Code::kFailedPrecondition,
                    Label(m) + " is partially applied and its down list does not mirror its up list (" +
                        std::to_string(m.down.size()) + " down operations for " + std::to_string(m.up.size()) +
                        " up), so plinth cannot tell which of them undo the completed steps. Resume it with "
                        "`plinth migrate up`, or undo its steps by hand and run `plinth migrate stamp`");
    }
    PLINTH_ASSIGN_OR_RETURN(sql::MigrationPlan up_plan, Render(d, m, m.up, state, Direction::kUp));
    if (up_plan.units.size() != recorded->steps_total) {
      return Status(Code::kFailedPrecondition,
                    Label(m) + " is partially applied (" + std::to_string(recorded->steps_done) + " of " +
                        std::to_string(recorded->steps_total) + " steps), but plinth now renders it as " +
                        std::to_string(up_plan.units.size()) +
                        " steps, so the completed steps cannot be identified. Undo them by hand and run "
                        "`plinth migrate stamp`");
    }
    DonePrefix done = DoneOps(up_plan, m.up.size(), recorded->steps_done);
    if (done.ragged) {
      const sql::Unit& u = up_plan.units[done.ragged_unit];
      return Status(Code::kFailedPrecondition,
                    Label(m) + " cannot be rolled back operation by operation: step " +
                        std::to_string(done.ragged_unit + 1) + " (" + u.op_description +
                        ") completed, but an earlier operation did not. Resume it with `plinth migrate up`, or "
                        "undo its steps by hand and run `plinth migrate stamp`");
    }
    schema::Schema after = state;
    PLINTH_RETURN_IF_ERROR(ApplyAll(after, m, m.up, 0, done.ops, "up"));
    std::vector<migrate::Op> ops(m.down.end() - static_cast<std::ptrdiff_t>(done.ops), m.down.end());
    PLINTH_ASSIGN_OR_RETURN(sql::MigrationPlan plan, Render(d, m, ops, after, Direction::kDown));
    MigrationScriptInput in;
    in.dialect = d;
    in.migration = &m;
    in.direction = Direction::kDown;
    in.plan = &plan;
    in.steps_total = recorded->steps_total;
    in.steps_before = recorded->steps_done;
    in.down_steps_after_unit = DownProgress(plan, up_plan, done.ops);
    in.data_loss = DataLossOps(ops, 0, ops.size());
    return BuildMigrationScript(in);
  }

  // Fully applied: `state` is the state after m.
  PLINTH_ASSIGN_OR_RETURN(sql::MigrationPlan plan, Render(d, m, m.down, state, Direction::kDown));
  schema::Schema before = state;
  bool inverted = true;
  for (const auto& op : m.down) {
    if (!migrate::ApplyOp(before, op).ok()) {
      inverted = false;
      break;
    }
  }
  if (!inverted) {
    // A hand-edited down list that does not replay: the state before m is the replay up to it.
    auto replay = migrate::Replay(migrations, index);
    if (!replay.ok()) return replay.status().WithContext("replaying the migrations before " + Label(m));
    before = std::move(replay).value();
  }
  PLINTH_ASSIGN_OR_RETURN(sql::MigrationPlan up_plan, Render(d, m, m.up, before, Direction::kUp));
  const size_t total = recorded ? recorded->steps_total : up_plan.units.size();
  MigrationScriptInput in;
  in.dialect = d;
  in.migration = &m;
  in.direction = Direction::kDown;
  in.plan = &plan;
  in.steps_total = total;
  in.steps_before = recorded ? recorded->steps_done : total;
  in.data_loss = DataLossOps(m.down, 0, m.down.size());
  if (HasSeveralSegments(plan, 0)) {
    if (!mirrored || up_plan.units.size() != total) {
      // Progress between the transactions cannot be expressed in up steps: record nothing
      // until the end (a failure midway leaves the row as applied; the error says so).
      in.down_steps_after_unit.assign(plan.units.size(), total);
    } else {
      in.down_steps_after_unit = DownProgress(plan, up_plan, m.up.size());
    }
  }
  MigrationScript script = BuildMigrationScript(in);
  state = std::move(before);
  return script;
}

Result<schema::Schema> AppliedState(sql::Dialect d, const std::vector<migrate::Migration>& migrations,
                                    size_t complete, std::optional<Recorded> partial) {
  auto replay = migrate::Replay(migrations, complete);
  if (!replay.ok()) return replay.status().WithContext("replaying the migration directory");
  schema::Schema state = std::move(replay).value();
  if (partial && complete < migrations.size()) {
    const migrate::Migration& m = migrations[complete];
    PLINTH_ASSIGN_OR_RETURN(sql::MigrationPlan plan, Render(d, m, m.up, state, Direction::kUp));
    DonePrefix done = DoneOps(plan, m.up.size(), partial->steps_done);
    PLINTH_RETURN_IF_ERROR(ApplyAll(state, m, m.up, 0, done.ops, "up"));
  }
  return state;
}

}  // namespace internal

Result<Script> BuildScript(sql::Dialect dialect, const std::vector<migrate::Migration>& migrations,
                           std::string_view from, std::string_view to) {
  PLINTH_ASSIGN_OR_RETURN(size_t a, ResolvePosition(migrations, from));
  PLINTH_ASSIGN_OR_RETURN(size_t b, ResolvePosition(migrations, to));
  Script out;
  out.dialect = dialect;
  ScriptStatement setup;
  setup.kind = StatementKind::kSetup;
  setup.sql = internal::HistoryTableDdl(dialect);
  setup.comment = "plinth migrate sql: " + std::string(sql::DialectName(dialect)) + ", " +
                  (a == 0 ? "base" : migrations[a - 1].version) + " -> " + (b == 0 ? "base" : migrations[b - 1].version);
  out.setup.push_back(std::move(setup));
  auto replay = migrate::Replay(migrations, a);
  if (!replay.ok()) return replay.status().WithContext("replaying the migration directory");
  schema::Schema state = std::move(replay).value();
  if (a <= b) {
    for (size_t i = a; i < b; ++i) {
      PLINTH_ASSIGN_OR_RETURN(MigrationScript ms, internal::PlanUp(dialect, migrations[i], state, 0, std::nullopt));
      out.migrations.push_back(std::move(ms));
    }
  } else {
    for (size_t i = a; i-- > b;) {
      PLINTH_ASSIGN_OR_RETURN(MigrationScript ms, internal::PlanDown(dialect, migrations, i, state, std::nullopt));
      out.migrations.push_back(std::move(ms));
    }
  }
  return out;
}

}  // namespace plinth::runner
