// plinth/auth_audit.h — tamper evidence for the audit log: the sealer that chains committed
// plinth_audit rows into a hash chain, and the verifier behind `plinth audit verify`.
//
// Design (docs/security.md "Audit chain"):
// - ONE global chain, not one per tenant: one head to anchor outside the database covers every
//   tenant and the rows without one (platform admin actions, apps without tenants), and deleting
//   a whole tenant's rows cannot go unnoticed the way dropping a per-tenant chain with its head
//   could. Tenant ids are part of every link's input, so a per-tenant report is a filter.
// - Writers never touch the chain: the data runtime inserts audit rows with their identity seq
//   in the write's own transaction, exactly as without a chain. The sealer runs apart (in the
//   server every `interval`, and as `plinth audit seal`), takes a lock so two sealers never
//   fork the chain (PostgreSQL pg_advisory_xact_lock; SQLite BEGIN IMMEDIATE), and appends
//   the rows committed since its last run in seq order:
//     link(pos) = crypto::ChainHash(link(pos-1), CanonicalEncode(row fields))  (genesis = 0^32)
//   into plinth_audit_chain (pos, seq, hash, seal_id) plus one plinth_audit_seals row per run
//   (id, first_pos, last_pos, max_seq, rows, head hash, sealed_at).
// - Sequence gaps and out-of-order commits (PostgreSQL): a seq below the newest sealed one may
//   still be in flight (allocated by a transaction that commits later) or lost for good (a
//   rollback). The sealer records every missing seq below the newest row it sealed in
//   plinth_audit_gaps; later runs seal rows that appear in open gaps (a late commit gets a later
//   chain position, so the chain is ordered by sealing, each link naming its seq). A gap open
//   longer than `settle_after` (default one hour, far beyond any statement timeout) is settled:
//   a row that appears there afterwards, or below the newest sealed seq outside any gap, was
//   inserted by someone bypassing plinth and is reported.
// - PostgreSQL seals inside the database: plinth_auth.audit_seal(max_rows) (SECURITY DEFINER,
//   plpgsql, sha256() of the same encoding) so the runtime role can run the sealer without
//   being able to read other tenants' audit rows. SQLite seals here, in C++. The verifier is
//   always this C++ code, so on PostgreSQL it checks the SQL implementation too.
// - The database cannot protect itself from its superuser: verify detects edits, deletions and
//   reorderings of sealed rows by recomputing every link; a superuser who also recomputes the
//   chain and seal tables is caught only by a head recorded outside the database — `audit seal
//   --checkpoint FILE` appends "pos hash" lines, `audit verify --checkpoint FILE` checks each
//   (and finds a truncated tail).
//
// Thread-safety: functions are reentrant; each works on the connection it is given (one thread
// at a time, as db::Connection requires). BackgroundSealer is safe to use from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::audit {

inline constexpr std::string_view kChainTable = "plinth_audit_chain";
inline constexpr std::string_view kSealTable = "plinth_audit_seals";
inline constexpr std::string_view kGapTable = "plinth_audit_gaps";

// Creates the chain, seal and gap tables (and on PostgreSQL the sealing function) when missing.
// Idempotent. plinth_audit must exist (the `audit` support component of the migrations).
// PostgreSQL: `runtime_role` (may be empty) is granted EXECUTE on the sealing function, which
// is owned by `definer_role` ("" = the connected role): a role that bypasses row security, so
// the function sees every tenant's audit rows while the runtime role sees none of them.
Status InstallChain(db::Connection& conn, const std::string& runtime_role = {}, const std::string& definer_role = {});

struct SealOptions {
  int64_t max_rows = 10'000;                     // rows per seal (a run seals at most this many)
  std::chrono::seconds settle_after{3600};       // gaps older than this are settled
};

struct SealReport {
  int64_t rows = 0;        // rows sealed by this run (0: nothing new)
  int64_t seal_id = 0;     // the new seal (0 when rows == 0)
  int64_t head_pos = 0;    // chain length after the run
  std::string head_hash;   // hex of the last link ("" for an empty chain)
  int64_t open_gaps = 0;   // seqs below the newest sealed one not (yet) seen
};

// One sealing run in its own transaction.
Result<SealReport> Seal(db::Connection& conn, const SealOptions& options = {});

// Runs Seal until a run seals fewer than max_rows rows.
Result<SealReport> SealAll(db::Connection& conn, const SealOptions& options = {});

// The server's sealer: SealAll every `interval` on a thread and a connection of its own (never
// an I/O thread). PostgreSQL: connect with the runtime role's URL (EXECUTE on
// plinth_auth.audit_seal is granted to it by InstallChain); SQLite: the app's file (the chain
// tables are created when missing; sealing takes BEGIN IMMEDIATE briefly). A failed run (the
// database restarting, a lock timeout) is reported to `on_error` and retried at the next
// interval on a fresh connection; nothing is lost, since the rows wait in plinth_audit.
struct SealerOptions {
  std::chrono::milliseconds interval{5000};
  SealOptions seal;
  db::ConnectOptions connect;                   // the server passes its pool's SQLite synchronous
  std::function<void(const Status&)> on_error;  // called on the sealer's thread
};

class BackgroundSealer {
 public:
  // Connects once (a wrong URL or missing chain fails here) and starts the thread.
  static Result<std::unique_ptr<BackgroundSealer>> Start(const db::Url& url, SealerOptions options = {});
  // Stops: waits for a run in progress, then runs a last SealAll so rows committed before the
  // server stopped are chained.
  ~BackgroundSealer();
  BackgroundSealer(const BackgroundSealer&) = delete;
  BackgroundSealer& operator=(const BackgroundSealer&) = delete;

  void Stop();
  // Seals now (and waits for it); for tests and for shutdown.
  Result<SealReport> SealNow();

  struct Stats {
    uint64_t runs = 0, failures = 0, rows_sealed = 0;
    int64_t head_pos = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  explicit BackgroundSealer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class FindingKind : unsigned char {
  kAltered,             // the row's content (or its place: reordered rows) no longer matches its link
  kMissing,             // a sealed row was deleted
  kInserted,            // a row appeared where none can legitimately appear (sealed range, settled gap)
  kChainMismatch,       // a stored link or seal head differs from the recomputation (chain rewritten)
  kCheckpointMismatch,  // an external checkpoint differs, or names a position past the chain's end
};
std::string_view FindingKindName(FindingKind k);

struct Finding {
  FindingKind kind = FindingKind::kAltered;
  int64_t seq = 0;   // the audit row (0 when the finding is about the chain itself)
  int64_t pos = 0;   // chain position (0 when the row is not in the chain)
  std::string message;
};

struct Checkpoint {
  int64_t pos = 0;
  std::string hash_hex;
};
// Parses "pos hash [anything]" lines ('#' comments, blank lines ignored).
Result<std::vector<Checkpoint>> ParseCheckpoints(std::string_view text);
std::string FormatCheckpoint(const SealReport& r);  // "pos hash sealed_at\n"

struct VerifyOptions {
  std::vector<Checkpoint> checkpoints;
  int64_t page_rows = 5'000;  // rows read per query
};

struct VerifyReport {
  int64_t rows_checked = 0;
  int64_t seals_checked = 0;
  int64_t unsealed = 0;     // rows not sealed yet (pending, not a finding)
  int64_t open_gaps = 0;
  std::optional<Finding> first;  // the first problem in chain order; nullopt = intact
  bool ok() const { return !first.has_value(); }
};

// Recomputes the whole chain (needs a role that reads every audit row: the migration role or
// a superuser on PostgreSQL). Read-only.
Result<VerifyReport> Verify(db::Connection& conn, const VerifyOptions& options = {});

}  // namespace plinth::audit
