// `plinth keys check | rotate`: the encrypted columns' keyring (PLINTH_ENCRYPTION_KEYS).
#include "cli/auth_common.h"
#include "plinth/auth_admin.h"

namespace plinth::cli {

void RegisterKeysCommands(CLI::App& app, GlobalOptions& g) {
  CLI::App* keys = app.add_subcommand("keys", "encryption keys of encrypted = true columns (PLINTH_ENCRYPTION_KEYS)");
  keys->require_subcommand(1);

  CLI::App* check = keys->add_subcommand("check", "check that every key that encrypted data is present and right");
  OnRun(check, g, [&g] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    PLINTH_CLI_ASSIGN(g, crypto::Keyring ring, auth::KeyringFromEnvironment(), kExitUsage);
    Status st = auth::CheckKeyring(*a.conn, a.schema, ring);
    if (!st.ok()) return g.Fail(st);
    g.Print("keyring ok (current key " + ring.current_key_id() + ")");
    return kExitOk;
  });

  CLI::App* rotate = keys->add_subcommand(
      "rotate", "re-encrypt every value under the current key (resumable: rerun after an interruption; idempotent)");
  auto batch = std::make_shared<int64_t>(500);
  auto max_batches = std::make_shared<int64_t>(0);
  rotate->add_option("--batch-size", *batch, "rows per committed batch")->capture_default_str();
  rotate->add_option("--max-batches", *max_batches,
                     "stop after this many batches (0 = until done): rotate in slices, rerun to resume")
      ->capture_default_str();
  OnRun(rotate, g, [&g, batch, max_batches] {
    PLINTH_CLI_ASSIGN(g, AuthApp a, OpenAuthApp(g), kExitUsage);
    PLINTH_CLI_ASSIGN(g, crypto::Keyring ring, auth::KeyringFromEnvironment(), kExitUsage);
    auth::RotateOptions o;
    o.batch_size = *batch;
    o.max_batches = *max_batches;
    o.progress = [&g](const std::string& line) { g.Info(line); };
    PLINTH_CLI_ASSIGN(g, auth::RotateReport r, auth::RotateKeys(*a.conn, a.schema, ring, o), kExitFailure);
    g.Print(std::to_string(r.values_reencrypted) + " values re-encrypted under " + ring.current_key_id() + " (" +
            std::to_string(r.rows_scanned) + " rows scanned" +
            (r.complete ? std::string(")") : std::string("; stopped after " + std::to_string(r.batches) +
                                                           " batches: run it again to resume)")));
    return kExitOk;
  });
}

}  // namespace plinth::cli
