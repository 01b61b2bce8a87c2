#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "db/temp_dir.h"
#include "plinth/db.h"

namespace plinth::db {
namespace {

using plinth::testing::TempDir;

std::unique_ptr<Connection> Open(const std::string& path, ConnectOptions opts = {}) {
  auto url = ParseUrl("sqlite://" + path);
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  auto conn = Connect(*url, opts);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(conn).value() : nullptr;
}

std::string Scalar(Connection& conn, const std::string& sql) {
  auto r = conn.Query(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  if (!r.ok() || r->rows.empty() || !r->rows[0][0]) return "<null>";
  return *r->rows[0][0];
}

TEST(Sqlite, CreatesTheFileAndItsDirectoryWithPragmasSet) {
  TempDir dir;
  std::string path = dir / "nested/deeper/app.db";
  auto conn = Open(path);
  ASSERT_TRUE(conn);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(conn->backend(), Backend::kSqlite);
  EXPECT_EQ(Scalar(*conn, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Scalar(*conn, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(Scalar(*conn, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(Scalar(*conn, "PRAGMA busy_timeout"), "5000");
  EXPECT_EQ(conn->ServerPid(), 0);
}

TEST(Sqlite, BusyTimeoutFollowsTheOptions) {
  TempDir dir;
  ConnectOptions opts;
  opts.timeout_ms = 1234;
  auto conn = Open(dir / "a.db", opts);
  ASSERT_TRUE(conn);
  EXPECT_EQ(Scalar(*conn, "PRAGMA busy_timeout"), "1234");
}

TEST(Sqlite, MissingFileWithoutCreateIsNotFound) {
  TempDir dir;
  auto url = ParseUrl("sqlite://" + (dir / "missing.db"));
  ASSERT_TRUE(url.ok());
  ConnectOptions opts;
  opts.create = false;
  auto conn = Connect(*url, opts);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kNotFound);
  EXPECT_NE(conn.status().message().find("missing.db does not exist"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "missing.db"));
}

TEST(Sqlite, AFileThatIsNotADatabaseIsUnavailable) {
  TempDir dir;
  {
    std::ofstream out(dir / "junk.db");
    out << std::string(4096, 'x');
  }
  auto url = ParseUrl("sqlite://" + (dir / "junk.db"));
  ASSERT_TRUE(url.ok());
  auto conn = Connect(*url);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnavailable);
  EXPECT_NE(conn.status().message().find("is not an SQLite database"), std::string::npos)
      << conn.status().ToString();
}

TEST(Sqlite, InMemory) {
  auto url = ParseUrl("sqlite::memory:");
  ASSERT_TRUE(url.ok());
  auto conn = Connect(*url);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(Scalar(**conn, "PRAGMA foreign_keys"), "1");
}

class SqliteErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = Open(dir_ / "e.db");
    ASSERT_TRUE(conn_);
    ASSERT_TRUE(conn_->Exec(R"(
      CREATE TABLE parents (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
      CREATE TABLE children (id INTEGER PRIMARY KEY,
                             parent_id INTEGER REFERENCES parents(id),
                             age INTEGER CONSTRAINT children_age_check CHECK (age >= 0));
      INSERT INTO parents VALUES (1, 'a@example.com');
    )").ok());
  }
  TempDir dir_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(SqliteErrors, UniqueViolationIsAlreadyExistsWithTheColumns) {
  Status st = conn_->Exec("INSERT INTO parents VALUES (2, 'a@example.com')");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_EQ(st.sqlstate(), "sqlite:2067");
  EXPECT_EQ(st.object(), "parents.email");
}

TEST_F(SqliteErrors, ForeignKeyViolationIsEnforced) {
  Status st = conn_->Exec("INSERT INTO children (id, parent_id) VALUES (1, 99)");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kConstraintViolation);
  EXPECT_EQ(st.sqlstate(), "sqlite:787");
}

TEST_F(SqliteErrors, CheckViolationNamesTheConstraint) {
  auto r = conn_->Query("INSERT INTO children (id, age) VALUES (?1, ?2)", {"1", "-1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConstraintViolation);
  EXPECT_EQ(r.status().sqlstate(), "sqlite:275");
  EXPECT_EQ(r.status().object(), "children_age_check");
}

TEST_F(SqliteErrors, SyntaxErrorIsInvalidArgument) {
  Status st = conn_->Exec("SELEC 1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.sqlstate(), "sqlite:1");
  EXPECT_NE(st.message().find("syntax error"), std::string::npos);
}

TEST_F(SqliteErrors, MissingTableIsNamed) {
  auto r = conn_->Query("SELECT * FROM nowhere");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().object(), "nowhere");
}

TEST_F(SqliteErrors, ParameterCountMismatchIsRefused) {
  auto r = conn_->Query("SELECT ?1, ?2", {"a"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  auto two = conn_->Query("SELECT 1; SELECT 2");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("one statement"), std::string::npos);
}

TEST_F(SqliteErrors, ParamsAreBoundNotSpliced) {
  const std::string hostile = "x'); DROP TABLE parents; --";
  auto ins = conn_->Query("INSERT INTO parents (id, email) VALUES (?1, ?2)", {"7", hostile});
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  auto r = conn_->Query("SELECT email, ?1 IS NULL FROM parents WHERE id = ?2", {std::nullopt, "7"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0][0], hostile);
  EXPECT_EQ(r->rows[0][1], "1");
  EXPECT_EQ(r->columns[0], "email");
}

TEST_F(SqliteErrors, NullsBlobsAndTransactions) {
  auto r = conn_->Query("SELECT NULL, x'00ff', 42, 1.5");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->rows[0][0].has_value());
  EXPECT_EQ(*r->rows[0][1], std::string("\x00\xff", 2));
  EXPECT_EQ(*r->rows[0][2], "42");
  EXPECT_EQ(*r->rows[0][3], "1.5");
  EXPECT_FALSE(conn_->InTransaction());
  ASSERT_TRUE(conn_->Exec("BEGIN IMMEDIATE").ok());
  EXPECT_TRUE(conn_->InTransaction());
  ASSERT_TRUE(conn_->Exec("ROLLBACK").ok());
  EXPECT_FALSE(conn_->InTransaction());
}

TEST_F(SqliteErrors, AWriterBlockedPastBusyTimeoutIsRetryable) {
  ConnectOptions opts;
  opts.timeout_ms = 50;
  auto other = Open(dir_ / "e.db", opts);
  ASSERT_TRUE(other);
  ASSERT_TRUE(conn_->Exec("BEGIN IMMEDIATE").ok());
  Status st = other->Exec("BEGIN IMMEDIATE");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kRetryable);
  EXPECT_EQ(st.sqlstate(), "sqlite:5");
  ASSERT_TRUE(conn_->Exec("ROLLBACK").ok());
  EXPECT_TRUE(other->Exec("BEGIN IMMEDIATE; ROLLBACK").ok());
}

}  // namespace
}  // namespace plinth::db
