// Encrypted columns: the keyring cipher, the startup check, and rotation (auth_admin.h).
#include <cstdlib>

#include "auth/internal.h"
#include "common/strings.h"
#include "plinth/auth_admin.h"
#include "plinth/crypto.h"

namespace plinth::auth {
namespace {

using internal::P;
using internal::Q;
using internal::Query;

constexpr std::string_view kCanaryPlaintext = "plinth keyring canary";

struct EncryptedTable {
  const schema::Table* table;
  std::vector<const schema::Column*> pk;
  std::vector<const schema::Column*> columns;
};

std::vector<EncryptedTable> EncryptedTables(const schema::Schema& s) {
  std::vector<EncryptedTable> out;
  for (const auto& t : s.tables) {
    EncryptedTable e{&t, {}, {}};
    for (const auto& c : t.columns) {
      if (c.encrypted) e.columns.push_back(&c);
    }
    if (e.columns.empty()) continue;
    if (const schema::Constraint* pk = t.PrimaryKey()) {
      for (const auto& name : pk->columns) e.pk.push_back(t.FindColumn(name));
    }
    out.push_back(std::move(e));
  }
  return out;
}

// A stored blob read as bytes: PostgreSQL bytea through hex, SQLite BLOB as it is.
std::string BlobOut(db::Backend b, const std::string& col) {
  return b == db::Backend::kPostgres ? "encode(" + col + ", 'hex')" : col;
}
std::string BlobIn(db::Backend b, int n) {
  return b == db::Backend::kPostgres ? "decode(" + P(b, n) + ", 'hex')" : "CAST(" + P(b, n) + " AS BLOB)";
}
Result<std::string> BlobValue(db::Backend b, const std::string& v) {
  if (b == db::Backend::kPostgres) return crypto::HexDecode(v);
  return v;
}
std::string BlobParam(db::Backend b, const std::string& bytes) {
  return b == db::Backend::kPostgres ? crypto::HexEncode(bytes) : bytes;
}

std::string PkText(db::Backend b, const schema::Column* c) {
  return b == db::Backend::kPostgres ? Q(c->name) + "::text" : Q(c->name);
}

std::string PkMatch(db::Backend b, const EncryptedTable& e, int first_param) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < e.pk.size(); ++i) {
    parts.push_back(Q(e.pk[i]->name) + " = " + internal::PT(b, first_param + static_cast<int>(i), internal::PgTypeOf(*e.pk[i])));
  }
  return Join(parts, " AND ");
}

Status EnsureCanaryTable(db::Connection& conn) {
  return conn.Exec("CREATE TABLE IF NOT EXISTS " + Q(kCanaryTable) +
                   " (\"key_id\" text PRIMARY KEY, \"blob\" text NOT NULL, \"created_at\" text NOT NULL)");
}

std::string CanaryAad(std::string_view key_id) { return crypto::BuildAad(kCanaryTable, "blob", key_id); }

}  // namespace

Result<crypto::Keyring> KeyringFromEnvironment() {
  const char* text = std::getenv(std::string(kEncryptionKeysEnv).c_str());
  if (text == nullptr || *text == '\0') {
    return Status(Code::kFailedPrecondition,
                  std::string(kEncryptionKeysEnv) + " is not set: the schema has encrypted columns. Set it to "
                  "\"k1=<base64 of 32 random bytes>\" (openssl rand -base64 32), keep it outside the database");
  }
  auto k = crypto::Keyring::Parse(text);
  if (!k.ok()) return k.status().WithContext(std::string(kEncryptionKeysEnv));
  return k;
}

std::string ColumnAad(std::string_view table, std::string_view column, const std::vector<std::string>& pk_values) {
  // Exactly the data runtime's associated data (src/data/runtime.cc, Aad): table NUL column,
  // then NUL and each primary key value in key order (tenant first for tenant-scoped tables).
  std::string aad(table);
  aad.push_back('\0');
  aad += column;
  for (const auto& v : pk_values) {
    aad.push_back('\0');
    aad += v;
  }
  return aad;
}

Result<std::string> KeyringCipher::Encrypt(std::string_view plaintext, std::string_view aad) const {
  return keyring_.Encrypt(plaintext, aad);
}
Result<std::string> KeyringCipher::Decrypt(std::string_view blob, std::string_view aad) const {
  return keyring_.Decrypt(blob, aad);
}

Status CheckKeyring(db::Connection& conn, const schema::Schema& schema, const crypto::Keyring& keyring) {
  const db::Backend b = conn.backend();
  PLINTH_RETURN_IF_ERROR(EnsureCanaryTable(conn));
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult canaries,
                          Query(conn, "reading keyring canaries", "SELECT key_id, blob FROM " + Q(kCanaryTable) + " ORDER BY key_id"));
  bool current_seen = false;
  for (const auto& row : canaries.rows) {
    const std::string id = row[0].value_or("");
    if (!keyring.HasKey(id)) {
      return Status(Code::kFailedPrecondition,
                    "values were encrypted under key '" + id + "', which is not in " + std::string(kEncryptionKeysEnv) +
                        ": put it back (then `plinth keys rotate` moves every value to the current key)");
    }
    auto blob = crypto::HexDecode(row[1].value_or(""));
    if (!blob.ok()) return Status(Code::kDataLoss, "keyring canary of key '" + id + "' is corrupt");
    auto plain = keyring.Decrypt(*blob, CanaryAad(id));
    if (!plain.ok() || *plain != kCanaryPlaintext) {
      return Status(Code::kFailedPrecondition, "key '" + id + "' in " + std::string(kEncryptionKeysEnv) +
                                                   " is not the key the data was encrypted with (its canary does not decrypt)");
    }
    if (id == keyring.current_key_id()) current_seen = true;
  }
  // A sample of each encrypted column: the newest row by primary key.
  for (const EncryptedTable& e : EncryptedTables(schema)) {
    if (e.pk.empty()) continue;
    std::vector<std::string> sel;
    std::vector<std::string> order;
    for (const auto* c : e.pk) {
      sel.push_back(PkText(b, c));
      order.push_back(Q(c->name) + " DESC");
    }
    for (const auto* c : e.columns) sel.push_back(BlobOut(b, Q(c->name)));
    auto rows = conn.Query("SELECT " + Join(sel, ", ") + " FROM " + Q(e.table->name) + " ORDER BY " + Join(order, ", ") + " LIMIT 1");
    if (!rows.ok()) return rows.status().WithContext("sampling encrypted column values of " + e.table->name);
    for (const auto& row : rows->rows) {
      std::vector<std::string> pk;
      for (size_t i = 0; i < e.pk.size(); ++i) pk.push_back(row[i].value_or(""));
      for (size_t j = 0; j < e.columns.size(); ++j) {
        const auto& v = row[e.pk.size() + j];
        if (!v) continue;
        PLINTH_ASSIGN_OR_RETURN(std::string blob, BlobValue(b, *v));
        auto plain = keyring.Decrypt(blob, ColumnAad(e.table->name, e.columns[j]->name, pk));
        if (!plain.ok()) {
          auto id = crypto::Keyring::KeyIdOf(blob);
          return Status(Code::kFailedPrecondition,
                        "encrypted column " + e.table->name + "." + e.columns[j]->name + " does not decrypt with " +
                            std::string(kEncryptionKeysEnv) + " (value under key '" + (id.ok() ? *id : std::string("?")) +
                            "'): " + plain.status().message());
        }
      }
    }
  }
  if (!current_seen) {
    PLINTH_ASSIGN_OR_RETURN(std::string blob, keyring.Encrypt(kCanaryPlaintext, CanaryAad(keyring.current_key_id())));
    auto ins = conn.Query("INSERT INTO " + Q(kCanaryTable) + " (key_id, blob, created_at) VALUES (" + P(b, 1) + ", " + P(b, 2) +
                              ", " + P(b, 3) + ") ON CONFLICT (key_id) DO NOTHING",
                          {keyring.current_key_id(), crypto::HexEncode(blob),
                           internal::FormatTimestamp(std::chrono::system_clock::now())});
    if (!ins.ok() && ins.status().code() != Code::kPermissionDenied && ins.status().code() != Code::kInvalidArgument) {
      return ins.status().WithContext("recording the keyring canary");
    }
  }
  return Status::Ok();
}

Result<RotateReport> RotateKeys(db::Connection& conn, const schema::Schema& schema, const crypto::Keyring& keyring,
                                const RotateOptions& options) {
  const db::Backend b = conn.backend();
  const bool pg = b == db::Backend::kPostgres;
  if (options.batch_size < 1) return Status(Code::kInvalidArgument, "batch size must be at least 1");
  PLINTH_RETURN_IF_ERROR(CheckKeyring(conn, schema, keyring));
  RotateReport rep;
  for (const EncryptedTable& e : EncryptedTables(schema)) {
    if (e.pk.empty()) return Status(Code::kFailedPrecondition, "table " + e.table->name + " has encrypted columns but no primary key");
    std::vector<std::string> sel, pk_cols, pk_params;
    for (size_t i = 0; i < e.pk.size(); ++i) {
      sel.push_back(PkText(b, e.pk[i]));
      pk_cols.push_back(Q(e.pk[i]->name));
      pk_params.push_back(internal::PT(b, static_cast<int>(i) + 2, internal::PgTypeOf(*e.pk[i])));  // $1: the prefix
    }
    // Only rows with a value not under the current key are read (each blob starts with its key
    // id), so every batch does work and a rerun resumes where an interrupted one stopped.
    const std::string prefix = crypto::Keyring::BlobPrefix(keyring.current_key_id());
    constexpr int prefix_param = 1;
    std::vector<std::string> stale;
    for (const auto* c : e.columns) {
      sel.push_back(BlobOut(b, Q(c->name)));
      const std::string head_bytes =
          pg ? "substring(" + Q(c->name) + " from 1 for " + std::to_string(prefix.size()) + ")"
             : "substr(CAST(" + Q(c->name) + " AS BLOB), 1, " + std::to_string(prefix.size()) + ")";
      stale.push_back("(" + Q(c->name) + " IS NOT NULL AND " + head_bytes + " <> " + BlobIn(b, prefix_param) + ")");
    }
    const std::string head = "SELECT " + Join(sel, ", ") + " FROM " + Q(e.table->name) + " WHERE (" + Join(stale, " OR ") + ")";
    const std::string tail = " ORDER BY " + Join(pk_cols, ", ") + " LIMIT " + std::to_string(options.batch_size);
    std::optional<std::vector<std::string>> after;
    for (;;) {
      if (options.max_batches > 0 && rep.batches >= options.max_batches) return rep;
      db::Params params = {BlobParam(b, prefix)};
      std::string where;
      if (after) {
        where = " AND (" + Join(pk_cols, ", ") + ") > (" + Join(pk_params, ", ") + ")";
        params.insert(params.end(), after->begin(), after->end());
      }
      PLINTH_RETURN_IF_ERROR(conn.Exec(pg ? "BEGIN" : "BEGIN IMMEDIATE"));
      auto batch = [&]() -> Result<size_t> {
        PLINTH_ASSIGN_OR_RETURN(db::QueryResult rows, Query(conn, "reading " + e.table->name, head + where + tail, params));
        for (const auto& row : rows.rows) {
          std::vector<std::string> pk;
          for (size_t i = 0; i < e.pk.size(); ++i) pk.push_back(row[i].value_or(""));
          ++rep.rows_scanned;
          for (size_t j = 0; j < e.columns.size(); ++j) {
            const auto& v = row[e.pk.size() + j];
            if (!v) continue;
            PLINTH_ASSIGN_OR_RETURN(std::string blob, BlobValue(b, *v));
            if (!keyring.NeedsReencrypt(blob)) continue;
            const std::string aad = ColumnAad(e.table->name, e.columns[j]->name, pk);
            auto fresh = keyring.Reencrypt(blob, aad);
            if (!fresh.ok()) {
              return fresh.status().WithContext(e.table->name + "." + e.columns[j]->name + " row (" + Join(pk, ", ") + ")");
            }
            db::Params up = {BlobParam(b, *fresh)};
            for (const auto& p : pk) up.push_back(p);
            // Compare-and-swap on the old blob: a concurrent write of a new value wins.
            up.push_back(BlobParam(b, blob));
            const int old_param = static_cast<int>(up.size());
            PLINTH_ASSIGN_OR_RETURN(
                db::QueryResult u,
                Query(conn, "re-encrypting " + e.table->name,
                      "UPDATE " + Q(e.table->name) + " SET " + Q(e.columns[j]->name) + " = " + BlobIn(b, 1) + " WHERE " +
                          PkMatch(b, e, 2) + " AND " + Q(e.columns[j]->name) + " = " + BlobIn(b, old_param),
                      up));
            (void)u;
            ++rep.values_reencrypted;
          }
          after = pk;
        }
        return rows.rows.size();
      };
      Result<size_t> n = batch();
      if (!n.ok()) {
        (void)conn.Exec("ROLLBACK");
        return n.status();
      }
      PLINTH_RETURN_IF_ERROR(conn.Exec("COMMIT"));
      ++rep.batches;
      if (options.progress) {
        options.progress(e.table->name + ": " + std::to_string(rep.rows_scanned) + " rows scanned, " +
                         std::to_string(rep.values_reencrypted) + " values re-encrypted");
      }
      if (*n < static_cast<size_t>(options.batch_size)) break;
    }
  }
  rep.complete = true;
  // No value remains under another key: their canaries go, so removing those keys later is safe.
  PLINTH_ASSIGN_OR_RETURN(db::QueryResult d, Query(conn, "pruning keyring canaries",
                                                   "DELETE FROM " + Q(kCanaryTable) + " WHERE key_id <> " + P(b, 1),
                                                   {keyring.current_key_id()}));
  (void)d;
  return rep;
}

}  // namespace plinth::auth
