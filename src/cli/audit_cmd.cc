// `plinth audit seal | verify`: the audit log's hash chain (plinth/auth_audit.h).
#include <fstream>

#include "cli/auth_common.h"
#include "common/strings.h"
#include "plinth/auth_audit.h"

namespace plinth::cli {

void RegisterAuditCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* audit = app.add_subcommand("audit", "the tamper-evident audit log");
  audit->require_subcommand(1);

  CLI::App* seal = audit->add_subcommand("seal", "chain the audit rows committed since the last seal; print the head");
  auto checkpoint = std::make_shared<std::string>();
  auto max_rows = std::make_shared<int64_t>(10'000);
  seal->add_option("--checkpoint", *checkpoint, "append the head (pos hash time) to this file: keep it outside the database");
  seal->add_option("--max-rows", *max_rows, "rows per seal")->capture_default_str();
  OnRun(seal, g, [&g, checkpoint, max_rows] {
    PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
    PLINTH_CLI_ASSIGN(g, auto conn, db::Connect(url), kExitFailure);
    if (conn->backend() == db::Backend::kSqlite) {
      Status st = audit::InstallChain(*conn);
      if (!st.ok()) return g.Fail(st);
    }
    audit::SealOptions o;
    o.max_rows = *max_rows;
    PLINTH_CLI_ASSIGN(g, audit::SealReport r, audit::SealAll(*conn, o), kExitFailure);
    g.Info("sealed " + std::to_string(r.rows) + " rows; " + std::to_string(r.open_gaps) + " open gaps");
    g.Print(r.head_pos > 0 ? std::to_string(r.head_pos) + " " + r.head_hash : std::string("0 (empty chain: no audit row yet)"));
    if (!checkpoint->empty() && r.head_pos > 0) {
      std::ofstream out(*checkpoint, std::ios::app);
      out << audit::FormatCheckpoint(r);
      if (!out) return g.Fail("cannot append to " + *checkpoint);
    }
    return kExitOk;
  });

  CLI::App* verify = audit->add_subcommand(
      "verify", "recompute the chain and report the first row that was edited, deleted, reordered or inserted");
  auto cp = std::make_shared<std::string>();
  verify->add_option("--checkpoint", *cp, "check the heads recorded by `audit seal --checkpoint`");
  OnRun(verify, g, [&g, cp] {
    PLINTH_CLI_ASSIGN(g, db::Url url, g.Url(), kExitUsage);
    PLINTH_CLI_ASSIGN(g, auto conn, db::Connect(url), kExitFailure);
    audit::VerifyOptions o;
    if (!cp->empty()) {
      std::string text;
      if (!ReadFile(*cp, text)) return g.Fail("cannot read " + *cp, kExitUsage);
      PLINTH_CLI_ASSIGN(g, o.checkpoints, audit::ParseCheckpoints(text), kExitUsage);
    }
    PLINTH_CLI_ASSIGN(g, audit::VerifyReport r, audit::Verify(*conn, o), kExitFailure);
    if (!r.ok()) {
      g.Print(std::string(audit::FindingKindName(r.first->kind)) + " seq=" + std::to_string(r.first->seq) + " pos=" +
              std::to_string(r.first->pos) + ": " + r.first->message);
      return kExitFailure;
    }
    g.Print("intact: " + std::to_string(r.rows_checked) + " rows in " + std::to_string(r.seals_checked) + " seals, " +
            std::to_string(r.unsealed) + " not sealed yet");
    return kExitOk;
  });
}

}  // namespace plinth::cli
