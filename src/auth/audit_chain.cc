// The audit hash chain: installation, sealing (C++ on SQLite, plpgsql on PostgreSQL) and the
// verifier (auth_audit.h).
#include <charconv>
#include <cstring>
#include <map>

#include "auth/internal.h"
#include "plinth/auth_audit.h"
#include "plinth/crypto.h"
#include "plinth/schema.h"

namespace plinth::audit {
namespace {

using auth::internal::P;
using auth::internal::Q;
using db::Backend;

constexpr std::string_view kAudit = schema::kAuditTable;
// Fields of an audit row that a link covers, in order (the data runtime's plinth_audit layout).
constexpr const char* kFields[] = {"seq",    "at",        "tenant_id", "principal_kind", "user_id",    "credential_id", "action",
                                   "table_name", "row_key", "changes",   "reason",         "request_id", "ip",            "user_agent"};
constexpr size_t kFieldCount = sizeof(kFields) / sizeof(kFields[0]);

// The field rendered as canonical text.
std::string FieldSql(Backend b, std::string_view alias, std::string_view field) {
  const std::string col = std::string(alias) + "." + Q(field);
  if (b == Backend::kSqlite) return field == "seq" ? "CAST(" + col + " AS TEXT)" : col;
  if (field == "at") return auth::internal::TimestampOut(b, col);
  if (field == "seq" || field == "tenant_id" || field == "user_id" || field == "changes") return col + "::text";
  return col;
}

std::string FieldList(Backend b, std::string_view alias) {
  std::string out;
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (i) out += ", ";
    out += FieldSql(b, alias, kFields[i]) + " AS f" + std::to_string(i);
  }
  return out;
}

int64_t SealLockKey() {
  const crypto::Sha256Digest d = crypto::Sha256("plinth.audit.seal");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return static_cast<int64_t>(v);
}

Result<int64_t> ToInt(const std::optional<std::string>& v, std::string_view what) {
  if (!v) return int64_t{0};
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return Status(Code::kDataLoss, std::string(what) + " is not an integer: '" + *v + "'");
  }
  return out;
}

std::string Encode(const db::Row& row, size_t offset) {
  std::vector<std::optional<std::string>> fields(row.begin() + static_cast<long>(offset),
                                                 row.begin() + static_cast<long>(offset + kFieldCount));
  return crypto::CanonicalEncode(fields);
}

std::vector<std::string> PostgresChainSql(const std::string& runtime_role, const std::string& definer_role) {
  const std::string tag = "$plinth$";
  const std::string chain = Q(kChainTable), seals = Q(kSealTable), gaps = Q(kGapTable), audit = Q(kAudit);
  // The canonical encoding written out inline. It was a helper SQL function per field, declared
  // IMMUTABLE around convert_to (STABLE), which the planner therefore never inlined: 14 calls
  // through fmgr_sql per sealed row made the sealer ~9% of PostgreSQL's CPU under the create mix.
  std::string enc = "int4send(" + std::to_string(kFieldCount) + ")";
  for (size_t i = 0; i < kFieldCount; ++i) {
    const std::string f = "r.f" + std::to_string(i);
    enc += " || CASE WHEN " + f + " IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(octet_length(convert_to(" + f +
           ", 'UTF8'))) || convert_to(" + f + ", 'UTF8') END";
  }
  std::string fields;
  for (size_t i = 0; i < kFieldCount; ++i) {
    fields += ", " + FieldSql(Backend::kPostgres, "a", kFields[i]) + " AS f" + std::to_string(i);
  }
  std::vector<std::string> out = {
      "CREATE SCHEMA IF NOT EXISTS plinth_auth",
      "REVOKE ALL ON SCHEMA plinth_auth FROM PUBLIC",
      "CREATE TABLE IF NOT EXISTS " + chain +
          " (\"pos\" bigint PRIMARY KEY, \"seq\" bigint NOT NULL UNIQUE, \"hash\" text NOT NULL, \"seal_id\" bigint NOT NULL)",
      "CREATE TABLE IF NOT EXISTS " + seals +
          " (\"id\" bigint PRIMARY KEY, \"first_pos\" bigint NOT NULL, \"last_pos\" bigint NOT NULL, \"max_seq\" bigint NOT NULL, "
          "\"rows\" bigint NOT NULL, \"head\" text NOT NULL, \"sealed_at\" timestamptz NOT NULL DEFAULT now())",
      "CREATE TABLE IF NOT EXISTS " + gaps +
          " (\"seq\" bigint PRIMARY KEY, \"noted_at\" timestamptz NOT NULL DEFAULT now(), \"settled\" boolean NOT NULL DEFAULT false)",
      "REVOKE ALL ON " + chain + ", " + seals + ", " + gaps + " FROM PUBLIC",
      "DROP FUNCTION IF EXISTS plinth_auth.audit_field(text)",  // inlined into audit_seal (see enc)
      "CREATE OR REPLACE FUNCTION plinth_auth.audit_seal(max_rows integer, settle_seconds integer) "
      "RETURNS TABLE(sealed bigint, seal_id bigint, head_pos bigint, head_hash text, open_gaps bigint) "
      "LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS " + tag + R"(
DECLARE
  h bytea;
  p bigint;
  first_p bigint;
  prev_max bigint;
  new_max bigint;
  sid bigint;
  n bigint := 0;
  r record;
  pos_a bigint[] := '{}';
  seq_a bigint[] := '{}';
  hash_a text[] := '{}';
  gap_a bigint[] := '{}';
BEGIN
  PERFORM pg_advisory_xact_lock()" + std::to_string(SealLockKey()) + R"();
  SELECT c.pos, decode(c.hash, 'hex') INTO p, h FROM )" + chain + R"( c ORDER BY c.pos DESC LIMIT 1;
  IF p IS NULL THEN
    p := 0;
    h := decode(repeat('00', 32), 'hex');
  END IF;
  SELECT coalesce(max(s.max_seq), 0), coalesce(max(s.id), 0) + 1 INTO prev_max, sid FROM )" + seals + R"( s;
  new_max := prev_max;
  first_p := p + 1;
  UPDATE )" + gaps + R"( g SET settled = true
   WHERE NOT g.settled AND g.noted_at < now() - make_interval(secs => settle_seconds);
  FOR r IN
    SELECT x.* FROM (
      SELECT a.seq AS s, true AS from_gap)" + fields + R"( FROM )" + audit + R"( a
        JOIN )" + gaps + R"( g ON g.seq = a.seq AND NOT g.settled
      UNION ALL
      (SELECT a.seq AS s, false AS from_gap)" + fields + R"( FROM )" + audit + R"( a WHERE a.seq > prev_max ORDER BY a.seq LIMIT max_rows)
    ) x ORDER BY x.s LIMIT max_rows
  LOOP
    h := sha256(convert_to('plinth/audit-chain/v1', 'UTF8') || '\x00'::bytea || h || )" + enc + R"();
    p := p + 1;
    n := n + 1;
    -- Collected, written in one statement each below (a statement per row was the sealer's cost).
    pos_a := pos_a || p;
    seq_a := seq_a || r.s;
    hash_a := hash_a || encode(h, 'hex');
    IF r.from_gap THEN
      gap_a := gap_a || r.s;
    END IF;
    new_max := greatest(new_max, r.s);
  END LOOP;
  IF n > 0 THEN
    INSERT INTO )" + chain + R"( (pos, seq, hash, seal_id)
      SELECT u.pos, u.seq, u.hash, sid FROM unnest(pos_a, seq_a, hash_a) AS u(pos, seq, hash);
    IF cardinality(gap_a) > 0 THEN
      DELETE FROM )" + gaps + R"( g WHERE g.seq = ANY (gap_a);
    END IF;
    INSERT INTO )" + gaps + R"( (seq)
      SELECT gs FROM generate_series(prev_max + 1, new_max) gs
       WHERE NOT EXISTS (SELECT 1 FROM )" + chain + R"( c WHERE c.seq = gs)
      ON CONFLICT DO NOTHING;
    INSERT INTO )" + seals + R"( (id, first_pos, last_pos, max_seq, rows, head)
      VALUES (sid, first_p, p, new_max, n, encode(h, 'hex'));
  END IF;
  RETURN QUERY SELECT n, CASE WHEN n > 0 THEN sid ELSE 0::bigint END, p,
    CASE WHEN p > 0 THEN encode(h, 'hex') ELSE ''::text END,
    (SELECT count(*) FROM )" + gaps + R"( g WHERE NOT g.settled);
END
)" + tag,
      "REVOKE ALL ON FUNCTION plinth_auth.audit_seal(integer, integer) FROM PUBLIC",
  };
  if (!definer_role.empty()) {
    out.push_back("GRANT USAGE, CREATE ON SCHEMA plinth_auth TO " + Q(definer_role));
    out.push_back("GRANT SELECT, INSERT, UPDATE, DELETE ON " + chain + ", " + seals + ", " + gaps + " TO " + Q(definer_role));
    out.push_back("GRANT SELECT ON " + audit + " TO " + Q(definer_role));
    out.push_back("ALTER FUNCTION plinth_auth.audit_seal(integer, integer) OWNER TO " + Q(definer_role));
  }
  if (!runtime_role.empty()) {
    out.push_back("GRANT USAGE ON SCHEMA plinth_auth TO " + Q(runtime_role));
    out.push_back("GRANT EXECUTE ON FUNCTION plinth_auth.audit_seal(integer, integer) TO " + Q(runtime_role));
  }
  return out;
}

std::vector<std::string> SqliteChainSql() {
  return {
      "CREATE TABLE IF NOT EXISTS " + Q(kChainTable) +
          " (\"pos\" INTEGER PRIMARY KEY, \"seq\" INTEGER NOT NULL UNIQUE, \"hash\" TEXT NOT NULL, \"seal_id\" INTEGER NOT NULL)",
      "CREATE TABLE IF NOT EXISTS " + Q(kSealTable) +
          " (\"id\" INTEGER PRIMARY KEY, \"first_pos\" INTEGER NOT NULL, \"last_pos\" INTEGER NOT NULL, \"max_seq\" INTEGER NOT "
          "NULL, \"rows\" INTEGER NOT NULL, \"head\" TEXT NOT NULL, \"sealed_at\" TEXT NOT NULL)",
      "CREATE TABLE IF NOT EXISTS " + Q(kGapTable) +
          " (\"seq\" INTEGER PRIMARY KEY, \"noted_at\" TEXT NOT NULL, \"settled\" INTEGER NOT NULL DEFAULT 0)",
  };
}

Status ExecAll(db::Connection& conn, const std::vector<std::string>& sql, std::string_view what) {
  for (const auto& s : sql) {
    Status st = conn.Exec(s);
    if (!st.ok()) return st.WithContext(what);
  }
  return Status::Ok();
}

// The chain's head and the newest sealed seq, as one transaction sees them.
struct SqliteHead {
  int64_t pos = 0;
  crypto::Sha256Digest hash = crypto::kChainGenesis;
  int64_t prev_max = 0;
  int64_t next_seal_id = 1;
  bool operator==(const SqliteHead&) const = default;
};

Result<SqliteHead> ReadSqliteHead(db::Connection& conn) {
  using auth::internal::Query;
  SqliteHead h;
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult head,
                          Query(conn, "audit seal", "SELECT pos, hash FROM " + Q(kChainTable) + " ORDER BY pos DESC LIMIT 1"));
  if (!head.rows.empty()) {
    PLINTH_ASSIGN_OR_RETURN(h.pos, ToInt(head.rows[0][0], "chain position"));
    PLINTH_ASSIGN_OR_RETURN(h.hash, crypto::DigestFromHex(head.rows[0][1].value_or("")));
  }
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult seal,
                          Query(conn, "audit seal", "SELECT coalesce(max(max_seq), 0), coalesce(max(id), 0) + 1 FROM " + Q(kSealTable)));
  PLINTH_ASSIGN_OR_RETURN(h.prev_max, ToInt(seal.rows[0][0], "max_seq"));
  PLINTH_ASSIGN_OR_RETURN(h.next_seal_id, ToInt(seal.rows[0][1], "seal id"));
  return h;
}

// SQLite seals in two steps so that the write lock, which every write of the server waits
// for, is held for a few set-based statements only:
//   1. in a read transaction (no lock): the head, and the rows to chain (rows in open gaps, then
//      the rows after the newest sealed seq), hashed here;
//   2. in BEGIN IMMEDIATE: the head is read again; when another sealer moved it in between
//      (`plinth audit seal` beside the server) step 1 runs again; else the links go in as one
//      INSERT … SELECT FROM json_each, the sealed gaps out as one DELETE, and the new gaps and
//      the seal row as before.
// Audit rows are append-only, so what step 1 read is still what step 2 chains.
constexpr int kSqliteSealAttempts = 5;

Result<SealReport> SealSqlite(db::Connection& conn, const SealOptions& options) {
  using auth::internal::Query;
  const Backend b = Backend::kSqlite;
  const std::string fields = FieldList(b, "a");
  const std::string limit = std::to_string(options.max_rows);
  for (int attempt = 1;; ++attempt) {
    const auto wall = std::chrono::system_clock::now();
    const std::string now = auth::internal::FormatTimestamp(wall);
    const std::string settle_before = auth::internal::FormatTimestamp(wall - options.settle_after);

    // Step 1: read and hash, no lock.
    PLINTH_RETURN_IF_ERROR(conn.Exec("BEGIN"));
    auto read = [&]() -> Result<std::pair<SqliteHead, db::QueryResult>> {
      PLINTH_ASSIGN_OR_RETURN(SqliteHead head, ReadSqliteHead(conn));
      PLINTH_ASSIGN_OR_RETURN(
          db::QueryResult rows,
          Query(conn, "audit seal",
                "SELECT * FROM (SELECT " + fields + " FROM " + Q(kAudit) + " a JOIN " + Q(kGapTable) +
                    " g ON g.seq = a.seq AND g.settled = 0 AND g.noted_at >= ?2 UNION ALL SELECT * FROM (SELECT " + fields +
                    " FROM " + Q(kAudit) + " a WHERE a.seq > ?1 ORDER BY a.seq LIMIT " + limit +
                    ")) ORDER BY CAST(f0 AS INTEGER) LIMIT " + limit,
                {std::to_string(head.prev_max), settle_before}));
      return std::make_pair(head, std::move(rows));
    };
    Result<std::pair<SqliteHead, db::QueryResult>> snapshot = read();
    (void)conn.Exec("COMMIT");  // a read transaction: nothing to keep
    if (!snapshot.ok()) return snapshot.status();
    const SqliteHead& seen = snapshot->first;
    const std::vector<db::Row>& rows = snapshot->second.rows;

    SealReport rep;
    crypto::Sha256Digest h = seen.hash;
    int64_t pos = seen.pos;
    int64_t new_max = seen.prev_max;
    std::string links = "[";  // [[pos, seq, "hash"], …]
    std::string sealed = "[";  // [seq, …]
    for (const db::Row& row : rows) {
      PLINTH_ASSIGN_OR_RETURN(int64_t seq, ToInt(row[0], "audit seq"));
      h = crypto::ChainHash(h, Encode(row, 0));
      ++pos;
      if (links.size() > 1) {
        links += ',';
        sealed += ',';
      }
      links += "[" + std::to_string(pos) + "," + std::to_string(seq) + ",\"" + crypto::HexEncode(h) + "\"]";
      sealed += std::to_string(seq);
      new_max = std::max(new_max, seq);
    }
    links += ']';
    sealed += ']';
    rep.rows = static_cast<int64_t>(rows.size());

    // Step 2: write, under the lock.
    PLINTH_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    auto write = [&]() -> Result<bool> {
      PLINTH_ASSIGN_OR_RETURN(SqliteHead current, ReadSqliteHead(conn));
      if (!(current == seen)) return false;  // another sealer went first
      PLINTH_ASSIGN_OR_RETURN(db::QueryResult settle,
                              Query(conn, "audit seal", "UPDATE " + Q(kGapTable) + " SET settled = 1 WHERE settled = 0 AND noted_at < ?1",
                                    {settle_before}));
      (void)settle;
      if (rep.rows > 0) {
        const std::string sid = std::to_string(seen.next_seal_id);
        PLINTH_ASSIGN_OR_RETURN(
            db::QueryResult a,
            Query(conn, "audit seal",
                  "INSERT INTO " + Q(kChainTable) +
                      " (pos, seq, hash, seal_id) SELECT value ->> 0, value ->> 1, value ->> 2, CAST(?2 AS INTEGER) FROM json_each(?1)",
                  {links, sid}));
        PLINTH_ASSIGN_OR_RETURN(db::QueryResult d,
                                Query(conn, "audit seal", "DELETE FROM " + Q(kGapTable) + " WHERE seq IN (SELECT value FROM json_each(?1))",
                                      {sealed}));
        (void)a;
        (void)d;
        PLINTH_ASSIGN_OR_RETURN(
            db::QueryResult g,
            Query(conn, "audit seal",
                  "WITH RECURSIVE s(x) AS (SELECT CAST(?1 AS INTEGER) + 1 UNION ALL SELECT x + 1 FROM s WHERE x < CAST(?2 AS INTEGER)) "
                  "INSERT OR IGNORE INTO " +
                      Q(kGapTable) + " (seq, noted_at) SELECT x, ?3 FROM s WHERE x <= CAST(?2 AS INTEGER) AND NOT EXISTS (SELECT 1 FROM " +
                      Q(kChainTable) + " c WHERE c.seq = x)",
                  {std::to_string(seen.prev_max), std::to_string(new_max), now}));
        (void)g;
        PLINTH_ASSIGN_OR_RETURN(
            db::QueryResult sr,
            Query(conn, "audit seal",
                  "INSERT INTO " + Q(kSealTable) +
                      " (id, first_pos, last_pos, max_seq, rows, head, sealed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                  {sid, std::to_string(seen.pos + 1), std::to_string(pos), std::to_string(new_max), std::to_string(rep.rows),
                   crypto::HexEncode(h), now}));
        (void)sr;
        rep.seal_id = seen.next_seal_id;
      }
      rep.head_pos = pos;
      rep.head_hash = pos > 0 ? crypto::HexEncode(h) : "";
      PLINTH_ASSIGN_OR_RETURN(db::QueryResult og,
                              Query(conn, "audit seal", "SELECT count(*) FROM " + Q(kGapTable) + " WHERE settled = 0"));
      PLINTH_ASSIGN_OR_RETURN(rep.open_gaps, ToInt(og.rows[0][0], "gap count"));
      return true;
    };
    Result<bool> wrote = write();
    if (!wrote.ok() || !*wrote) {
      (void)conn.Exec("ROLLBACK");
      if (!wrote.ok()) return wrote.status();
      if (attempt >= kSqliteSealAttempts) {
        return Status(Code::kRetryable, "audit seal: another sealer moved the chain's head " +
                                            std::to_string(kSqliteSealAttempts) + " times in a row; try again");
      }
      continue;
    }
    PLINTH_RETURN_IF_ERROR(conn.Exec("COMMIT"));
    return rep;
  }
}

Result<SealReport> SealPostgres(db::Connection& conn, const SealOptions& options) {
  PLINTH_ASSIGN_OR_RETURN(
      db::QueryResult r,
      auth::internal::Query(conn, "audit seal (plinth_auth.audit_seal)",
                            "SELECT sealed, seal_id, head_pos, head_hash, open_gaps FROM plinth_auth.audit_seal($1::integer, $2::integer)",
                            {std::to_string(options.max_rows), std::to_string(options.settle_after.count())}));
  if (r.rows.size() != 1) return Status(Code::kInternal, "plinth_auth.audit_seal returned no row");
  SealReport rep;
  PLINTH_ASSIGN_OR_RETURN(rep.rows, ToInt(r.rows[0][0], "sealed"));
  PLINTH_ASSIGN_OR_RETURN(rep.seal_id, ToInt(r.rows[0][1], "seal_id"));
  PLINTH_ASSIGN_OR_RETURN(rep.head_pos, ToInt(r.rows[0][2], "head_pos"));
  rep.head_hash = r.rows[0][3].value_or("");
  PLINTH_ASSIGN_OR_RETURN(rep.open_gaps, ToInt(r.rows[0][4], "open_gaps"));
  return rep;
}

}  // namespace

Status InstallChain(db::Connection& conn, const std::string& runtime_role, const std::string& definer_role) {
  const bool pg = conn.backend() == Backend::kPostgres;
  return ExecAll(conn, pg ? PostgresChainSql(runtime_role, definer_role) : SqliteChainSql(), "installing the audit chain");
}

Result<SealReport> Seal(db::Connection& conn, const SealOptions& options) {
  if (options.max_rows < 1) return Status(Code::kInvalidArgument, "max_rows must be at least 1");
  if (conn.backend() == Backend::kPostgres) return SealPostgres(conn, options);
  return SealSqlite(conn, options);
}

Result<SealReport> SealAll(db::Connection& conn, const SealOptions& options) {
  SealReport total;
  for (;;) {
    PLINTH_ASSIGN_OR_RETURN(SealReport r, Seal(conn, options));
    total.rows += r.rows;
    if (r.seal_id) total.seal_id = r.seal_id;
    total.head_pos = r.head_pos;
    total.head_hash = r.head_hash;
    total.open_gaps = r.open_gaps;
    if (r.rows < options.max_rows) return total;
  }
}

std::string_view FindingKindName(FindingKind k) {
  switch (k) {
    case FindingKind::kAltered: return "altered";
    case FindingKind::kMissing: return "missing";
    case FindingKind::kInserted: return "inserted";
    case FindingKind::kChainMismatch: return "chain_mismatch";
    case FindingKind::kCheckpointMismatch: return "checkpoint_mismatch";
  }
  return "?";
}

Result<std::vector<Checkpoint>> ParseCheckpoints(std::string_view text) {
  std::vector<Checkpoint> out;
  size_t line_no = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    ++line_no;
    start = end + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    size_t sp = line.find(' ');
    std::string_view pos_text = line.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    size_t sp2 = rest.find(' ');
    std::string_view hash = rest.substr(0, sp2);
    Checkpoint c;
    auto [p, ec] = std::from_chars(pos_text.data(), pos_text.data() + pos_text.size(), c.pos);
    if (ec != std::errc() || p != pos_text.data() + pos_text.size() || c.pos < 1 || !crypto::DigestFromHex(hash).ok()) {
      return Status(Code::kInvalidArgument, "checkpoint line " + std::to_string(line_no) +
                                                ": expected \"POSITION HASH\" (as `plinth audit seal --checkpoint` writes)");
    }
    c.hash_hex = std::string(hash);
    out.push_back(std::move(c));
    if (end == text.size()) break;
  }
  return out;
}

std::string FormatCheckpoint(const SealReport& r) {
  return std::to_string(r.head_pos) + " " + r.head_hash + " " +
         auth::internal::FormatTimestamp(std::chrono::system_clock::now()) + "\n";
}

Result<VerifyReport> Verify(db::Connection& conn, const VerifyOptions& options) {
  using auth::internal::Query;
  const Backend b = conn.backend();
  VerifyReport rep;
  std::map<int64_t, std::string> seal_heads;  // last_pos → head
  std::map<int64_t, int64_t> seal_ids;
  int64_t max_sealed = 0;
  {
    PLINTH_ASSIGN_OR_RETURN(db::QueryResult seals,
                            Query(conn, "audit verify", "SELECT id, last_pos, head, max_seq FROM " + Q(kSealTable) + " ORDER BY id"));
    for (const auto& r : seals.rows) {
      PLINTH_ASSIGN_OR_RETURN(int64_t id, ToInt(r[0], "seal id"));
      PLINTH_ASSIGN_OR_RETURN(int64_t last, ToInt(r[1], "seal last_pos"));
      PLINTH_ASSIGN_OR_RETURN(int64_t ms, ToInt(r[3], "seal max_seq"));
      seal_heads[last] = r[2].value_or("");
      seal_ids[last] = id;
      max_sealed = std::max(max_sealed, ms);
    }
  }
  std::map<int64_t, std::string> checkpoints;
  for (const auto& c : options.checkpoints) checkpoints[c.pos] = c.hash_hex;

  auto finding = [&](FindingKind k, int64_t seq, int64_t pos, std::string msg) {
    if (!rep.first) rep.first = Finding{k, seq, pos, std::move(msg)};
  };

  crypto::Sha256Digest running = crypto::kChainGenesis;  // recomputed from the rows alone
  crypto::Sha256Digest stored_prev = crypto::kChainGenesis;
  int64_t last_pos = 0;
  const std::string page = std::to_string(std::max<int64_t>(1, options.page_rows));
  for (;;) {
    PLINTH_ASSIGN_OR_RETURN(
        db::QueryResult rows,
        Query(conn, "audit verify",
              "SELECT c.pos, c.seq, c.hash, a.seq IS NOT NULL, " + FieldList(b, "a") + " FROM " + Q(kChainTable) + " c LEFT JOIN " +
                  Q(kAudit) + " a ON a.seq = c.seq WHERE c.pos > " + P(b, 1) + " ORDER BY c.pos LIMIT " + page,
              {std::to_string(last_pos)}));
    for (const db::Row& r : rows.rows) {
      PLINTH_ASSIGN_OR_RETURN(int64_t pos, ToInt(r[0], "chain position"));
      PLINTH_ASSIGN_OR_RETURN(int64_t seq, ToInt(r[1], "chain seq"));
      if (pos != last_pos + 1) {
        finding(FindingKind::kChainMismatch, 0, last_pos + 1,
                "chain position " + std::to_string(last_pos + 1) + " is missing: the chain table was edited");
      }
      auto stored = crypto::DigestFromHex(r[2].value_or(""));
      if (!stored.ok()) {
        finding(FindingKind::kChainMismatch, seq, pos, "chain position " + std::to_string(pos) + " holds a malformed hash");
        return rep;
      }
      const bool present = auth::internal::ParseBool(r[3]);
      if (!present) {
        finding(FindingKind::kMissing, seq, pos,
                "audit row seq " + std::to_string(seq) + " (chain position " + std::to_string(pos) + ") was deleted");
      } else {
        const std::string enc = Encode(r, 4);
        const crypto::Sha256Digest local = crypto::ChainHash(stored_prev, enc);
        if (local != *stored) {
          finding(FindingKind::kAltered, seq, pos,
                  "audit row seq " + std::to_string(seq) + " (chain position " + std::to_string(pos) +
                      ") does not match its link: its content or its place in the log was changed");
        }
        running = crypto::ChainHash(running, enc);
      }
      stored_prev = *stored;
      ++rep.rows_checked;
      last_pos = pos;
      if (auto it = seal_heads.find(pos); it != seal_heads.end()) {
        ++rep.seals_checked;
        if (it->second != crypto::HexEncode(running)) {
          finding(FindingKind::kChainMismatch, 0, pos,
                  "seal " + std::to_string(seal_ids[pos]) + " (ending at chain position " + std::to_string(pos) +
                      ") does not match the recomputed chain");
        }
      }
      if (auto it = checkpoints.find(pos); it != checkpoints.end()) {
        if (it->second != crypto::HexEncode(running)) {
          finding(FindingKind::kCheckpointMismatch, 0, pos,
                  "checkpoint at chain position " + std::to_string(pos) + " differs from the recomputed chain: the log was rewritten");
        }
      }
    }
    if (static_cast<int64_t>(rows.rows.size()) < options.page_rows) break;
  }
  for (const auto& [pos, hash] : checkpoints) {
    if (pos > last_pos) {
      finding(FindingKind::kCheckpointMismatch, 0, pos,
              "checkpoint at chain position " + std::to_string(pos) + " is past the end of the chain (" + std::to_string(last_pos) +
                  "): sealed rows were removed from the end");
      break;
    }
  }
  if (!seal_heads.empty() && seal_heads.rbegin()->first > last_pos) {
    finding(FindingKind::kChainMismatch, 0, seal_heads.rbegin()->first, "the chain ends before its last seal: chain entries were deleted");
  }
  // Rows that cannot legitimately be outside the chain.
  const std::string not_chained = " NOT EXISTS (SELECT 1 FROM " + Q(kChainTable) + " c WHERE c.seq = a.seq)";
  const std::string open_gap = " EXISTS (SELECT 1 FROM " + Q(kGapTable) + " g WHERE g.seq = a.seq AND g.settled = " +
                               auth::internal::BoolSql(b, false) + ")";
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult inserted,
                          Query(conn, "audit verify",
                                "SELECT a.seq FROM " + Q(kAudit) + " a WHERE a.seq <= " + P(b, 1) + " AND" + not_chained + " AND NOT" +
                                    open_gap + " ORDER BY a.seq LIMIT 1",
                                {std::to_string(max_sealed)}));
  if (!inserted.rows.empty()) {
    PLINTH_ASSIGN_OR_RETURN(int64_t seq, ToInt(inserted.rows[0][0], "audit seq"));
    finding(FindingKind::kInserted, seq, 0,
            "audit row seq " + std::to_string(seq) + " appeared inside the sealed range without being sealed: it was inserted "
            "by someone bypassing plinth");
  }
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult pending,
                          Query(conn, "audit verify",
                                "SELECT count(*) FROM " + Q(kAudit) + " a WHERE" + not_chained + " AND (a.seq > " + P(b, 1) + " OR" +
                                    open_gap + ")",
                                {std::to_string(max_sealed)}));
  PLINTH_ASSIGN_OR_RETURN(rep.unsealed, ToInt(pending.rows[0][0], "unsealed count"));
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult gaps,
                          Query(conn, "audit verify",
                                "SELECT count(*) FROM " + Q(kGapTable) + " WHERE settled = " + auth::internal::BoolSql(b, false)));
  PLINTH_ASSIGN_OR_RETURN(rep.open_gaps, ToInt(gaps.rows[0][0], "gap count"));
  return rep;
}

}  // namespace plinth::audit
