// Migration files: the JSON layout, round trips, checksums, strict parsing, the migration
// directory and version numbers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "migrate_core/builder.h"
#include "migrate_core/op_json.h"

namespace plinth::migrate {
namespace {

using namespace testing;  // NOLINT
using ::testing::HasSubstr;

// One operation of every kind, every field its kind uses set to a non-default value.
std::vector<Op> EveryKind() {
  std::vector<Op> ops;
  auto add = [&](OpKind k) -> Op& {
    ops.push_back(MakeOp(k));
    return ops.back();
  };
  Op& ce = add(OpKind::kCreateEnum);
  ce.enum_def.name = "status";
  ce.enum_def.values = {"open", "closed"};
  Op& de = add(OpKind::kDropEnum);
  de.enum_def.name = "old_status";
  de.enum_def.values = {"a"};
  Op& av = add(OpKind::kAddEnumValue);
  av.name = "status";
  av.value = "pending";
  av.before = "closed";
  av.note = "used later";
  Op& rv = add(OpKind::kRenameEnumValue);
  rv.name = "status";
  rv.value = "closed";
  rv.new_name = "done";
  Op& re = add(OpKind::kReplaceEnum);
  re.name = "status";
  re.enum_def.name = "status";
  re.old_values = {"open", "pending", "done", "void"};
  re.enum_def.values = {"open", "done", "pending"};
  re.value_map = {{"void", "done"}};
  re.data_loss = true;
  Op& rn = add(OpKind::kRenameEnum);
  rn.name = "status";
  rn.new_name = "state";
  Op& ct = add(OpKind::kCreateTable);
  ct.table_def = TableB("docs")
                     .Column("title", "varchar(200)", {.not_null = true, .literal = "untitled"})
                     .Column("amount", "numeric(12,2)")
                     .Column("secret", "text", {.encrypted = true})
                     .Column("state", "state", {.literal = "open"})
                     .Ref("owner_id", "users")
                     .Add(Unique("docs_title_key", {"title"}))
                     .Add(Check("docs_amount_check", "amount >= 0"))
                     .Timestamps()
                     .RowSecurity()
                     .AppendOnly()
                     .Build();
  ct.table_def.options.tenant_scoped = true;
  ct.table_def.constraints[1].on_delete = schema::FkAction::kSetNull;
  ct.table_def.constraints[1].on_update = schema::FkAction::kCascade;
  ct.table_def.constraints[1].set_columns = {"owner_id"};
  Op& dt = add(OpKind::kDropTable);
  dt.table_def = TableB("gone").Column("x", "bytes").Build();
  dt.data_loss = true;
  Op& rt = add(OpKind::kRenameTable);
  rt.table = "docs";
  rt.new_name = "documents";
  Op& ac = add(OpKind::kAddColumn);
  ac.table = "documents";
  ac.column = Col("published", "date", {.now = true});
  Op& dc = add(OpKind::kDropColumn);
  dc.table = "documents";
  dc.column = Col("legacy", "json", {.literal = "{}"});
  dc.data_loss = true;
  Op& rc = add(OpKind::kRenameColumn);
  rc.table = "documents";
  rc.name = "title";
  rc.new_name = "heading";
  Op& alc = add(OpKind::kAlterColumn);
  alc.table = "documents";
  alc.old_column = Col("amount", "integer");
  alc.column = Col("amount", "bigint", {.not_null = true, .literal = "0"});
  Op& acn = add(OpKind::kAddConstraint);
  acn.table = "documents";
  acn.constraint = Fk("documents_parent_fkey", {"parent_id"}, "documents", {"id"}, schema::FkAction::kCascade);
  Op& dcn = add(OpKind::kDropConstraint);
  dcn.table = "documents";
  dcn.constraint = Pk("documents_pkey", {"id"});
  Op& ci = add(OpKind::kCreateIndex);
  ci.table = "documents";
  ci.index = Idx("documents_recent_idx", {"created_at desc", "id"}, true, "state <> 'done'");
  ci.concurrently = true;
  Op& di = add(OpKind::kDropIndex);
  di.table = "documents";
  di.index = Idx("documents_old_idx", {"title"});
  Op& so = add(OpKind::kSetTableOptions);
  so.table = "documents";
  so.old_options.timestamps = true;
  so.options.row_security = true;
  so.options.tenant_scoped = true;
  Op& cp = add(OpKind::kCreatePolicy);
  cp.table = "documents";
  cp.policy = Pol("owner_updates", schema::PolicyCommand::kUpdate, "owner_id = auth.user_id()",
                  "owner_id = auth.user_id()", true);
  Op& dp = add(OpKind::kDropPolicy);
  dp.table = "documents";
  dp.policy = Pol("readers", schema::PolicyCommand::kSelect, "true");
  Op& ap = add(OpKind::kAlterPolicy);
  ap.table = "documents";
  ap.old_policy = Pol("writers", schema::PolicyCommand::kInsert, "", "true");
  ap.policy = Pol("writers", schema::PolicyCommand::kInsert, "", "owner_id = auth.user_id()");
  Op& is = add(OpKind::kInstallSupport);
  is.name = "auth";
  Op& rs = add(OpKind::kRemoveSupport);
  rs.name = "timestamps";
  Op& raw = add(OpKind::kRawSql);
  raw.sql_postgres = "select 1;";
  raw.sql_sqlite = "select 2;";
  return ops;
}

// Every stored field of two operations is equal.
void ExpectSameOp(const Op& a, const Op& b) {
  SCOPED_TRACE(a.Describe());
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.table, b.table);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.new_name, b.new_name);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.before, b.before);
  EXPECT_TRUE(a.enum_def.SameAs(b.enum_def));
  EXPECT_EQ(a.old_values, b.old_values);
  EXPECT_EQ(a.value_map, b.value_map);
  schema::Schema sa, sb;
  if (!a.table_def.name.empty()) {
    sa.tables.push_back(a.table_def);
    sb.tables.push_back(b.table_def);
  }
  EXPECT_EQ(internal::StateDifference(sa, sb), "");
  EXPECT_TRUE(a.column.SameAs(b.column));
  EXPECT_TRUE(a.old_column.SameAs(b.old_column));
  EXPECT_TRUE(a.constraint.SameAs(b.constraint));
  EXPECT_TRUE(a.index.SameAs(b.index));
  EXPECT_EQ(a.concurrently, b.concurrently);
  EXPECT_EQ(a.options, b.options);
  EXPECT_EQ(a.old_options, b.old_options);
  EXPECT_TRUE(a.policy.SameAs(b.policy));
  EXPECT_TRUE(a.old_policy.SameAs(b.old_policy));
  EXPECT_EQ(a.sql_postgres, b.sql_postgres);
  EXPECT_EQ(a.sql_sqlite, b.sql_sqlite);
  EXPECT_EQ(a.data_loss, b.data_loss);
  EXPECT_EQ(a.note, b.note);
}

Migration Sample() {
  Migration m;
  m.version = "0002";
  m.name = "add documents";
  m.parent = "0001";
  m.created_at = "2026-11-21T10:00:00Z";
  m.up = EveryKind();
  m.down = {EveryKind()[0]};
  return m;
}

Result<Migration> Parse(const std::string& text, Diagnostics& diags) { return ParseMigration(text, "m.json", diags); }

TEST(MigrationFile, EveryOperationKindRoundTrips) {
  Migration m = Sample();
  ASSERT_EQ(m.up.size(), 24u) << "one sample per OpKind";
  std::string text = ToFileText(m);
  Diagnostics diags;
  auto parsed = Parse(text, diags);
  ASSERT_TRUE(parsed.ok()) << diags.ToString();
  EXPECT_EQ(parsed->version, m.version);
  EXPECT_EQ(parsed->name, m.name);
  EXPECT_EQ(parsed->parent, m.parent);
  EXPECT_EQ(parsed->created_at, m.created_at);
  ASSERT_EQ(parsed->up.size(), m.up.size());
  for (size_t i = 0; i < m.up.size(); ++i) ExpectSameOp(m.up[i], parsed->up[i]);
  ASSERT_EQ(parsed->down.size(), 1u);
  ExpectSameOp(m.down[0], parsed->down[0]);
  EXPECT_EQ(ToFileText(*parsed), text) << "writing is stable";
  EXPECT_EQ(parsed->checksum, Checksum(m));
  EXPECT_EQ(parsed->path, "m.json");
}

TEST(MigrationFile, LayoutIsReadableAndLeavesOutDefaults) {
  Migration m;
  m.version = "0001";
  m.name = "init";
  Op op = MakeOp(OpKind::kAddColumn);
  op.table = "users";
  op.column = Col("nick", "text(20)");
  m.up.push_back(op);
  std::string text = ToFileText(m);
  EXPECT_EQ(text,
            "{\n"
            "  \"plinth_migration\": 1,\n"
            "  \"version\": \"0001\",\n"
            "  \"name\": \"init\",\n"
            "  \"parent\": \"\",\n"
            "  \"created_at\": \"\",\n"
            "  \"up\": [\n"
            "    {\n"
            "      \"op\": \"add_column\",\n"
            "      \"table\": \"users\",\n"
            "      \"column\": {\n"
            "        \"name\": \"nick\",\n"
            "        \"type\": \"text(20)\"\n"
            "      }\n"
            "    }\n"
            "  ],\n"
            "  \"down\": []\n"
            "}\n");
}

TEST(MigrationFile, TypesAreWrittenCanonically) {
  Migration m = Sample();
  std::string text = ToFileText(m);
  EXPECT_THAT(text, HasSubstr("\"type\": \"text(200)\""));  // written varchar(200)
  EXPECT_THAT(text, HasSubstr("\"type\": \"decimal(12,2)\""));  // written numeric(12,2)
  EXPECT_THAT(text, HasSubstr("\"kind\": \"literal\""));
  EXPECT_THAT(text, HasSubstr("\"value\": \"untitled\""));
}

TEST(MigrationFile, ChecksumIgnoresFormattingKeyOrderNotesNameAndDate) {
  const std::string a = R"J({"plinth_migration": 1, "version": "0003", "name": "a", "parent": "0002",
    "created_at": "2026-01-01T00:00:00Z",
    "up": [{"op": "add_column", "table": "t", "column": {"name": "c", "type": "varchar(5)", "not_null": false}}],
    "down": [{"op": "drop_column", "table": "t", "column": {"name": "c", "type": "text(5)"}, "data_loss": true}]})J";
  const std::string b = R"J({
  "down": [ { "data_loss": true, "column": { "type": "text(5)", "name": "c" }, "table": "t", "op": "drop_column",
              "note": "explained" } ],
  "up": [ { "column": { "type": "text(5)", "name": "c" }, "op": "add_column", "table": "t" } ],
  "parent": "0002", "version": "0003", "plinth_migration": 1, "name": "other name", "created_at": "" })J";
  Diagnostics diags;
  auto ma = Parse(a, diags);
  auto mb = Parse(b, diags);
  ASSERT_TRUE(ma.ok() && mb.ok()) << diags.ToString();
  EXPECT_EQ(ma->checksum, mb->checksum);
  EXPECT_EQ(ma->checksum.size(), 64u);
  EXPECT_EQ(CanonicalText(*ma), CanonicalText(*mb));
}

TEST(MigrationFile, ChecksumChangesWithAnySemanticEdit) {
  const Migration base = Sample();
  const std::string sum = Checksum(base);
  std::vector<std::pair<std::string, std::function<void(Migration&)>>> edits = {
      {"version", [](Migration& m) { m.version = "0003"; }},
      {"parent", [](Migration& m) { m.parent = ""; }},
      {"op order", [](Migration& m) { std::swap(m.up[0], m.up[1]); }},
      {"drop an op", [](Migration& m) { m.up.pop_back(); }},
      {"down", [](Migration& m) { m.down.clear(); }},
      {"enum value", [](Migration& m) { m.up[0].enum_def.values[1] = "shut"; }},
      {"before", [](Migration& m) { m.up[2].before = ""; }},
      {"value_map", [](Migration& m) { m.up[4].value_map.clear(); }},
      {"column type", [](Migration& m) { m.up[6].table_def.columns[1].type = T("text(201)"); }},
      {"not_null", [](Migration& m) { m.up[6].table_def.columns[2].not_null = true; }},
      {"default", [](Migration& m) { m.up[6].table_def.columns[1].default_value.value = "x"; }},
      {"encrypted", [](Migration& m) { m.up[6].table_def.columns[3].encrypted = false; }},
      {"fk action", [](Migration& m) { m.up[6].table_def.constraints[1].on_delete = schema::FkAction::kRestrict; }},
      {"options", [](Migration& m) { m.up[6].table_def.options.append_only = false; }},
      {"concurrently", [](Migration& m) { m.up[15].concurrently = false; }},
      {"index desc", [](Migration& m) { m.up[15].index.columns[0].descending = false; }},
      {"policy", [](Migration& m) { m.up[18].policy.restrictive = false; }},
      {"data_loss", [](Migration& m) { m.up[4].data_loss = false; }},
      {"raw sql", [](Migration& m) { m.up[23].sql_sqlite = "select 3;"; }},
  };
  for (auto& [what, edit] : edits) {
    Migration m = base;
    edit(m);
    EXPECT_NE(Checksum(m), sum) << what;
  }
  Migration noted = base;
  noted.up[0].note = "a new note";
  noted.name = "renamed";
  noted.created_at = "yesterday";
  EXPECT_EQ(Checksum(noted), sum);
}

struct ParseErrorCase {
  std::string name;
  std::string text;
  int line;
  std::string message;
};

void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }

class ParseErrors : public ::testing::TestWithParam<ParseErrorCase> {};

std::string Wrap(const std::string& up_ops) {
  return "{\n\"plinth_migration\": 1,\n\"version\": \"0001\",\n\"parent\": \"\",\n\"up\": [\n" + up_ops +
         "\n],\n\"down\": []\n}\n";
}

TEST_P(ParseErrors, ReportsFileLineAndProblem) {
  const auto& c = GetParam();
  Diagnostics diags;
  auto m = Parse(c.text, diags);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  ASSERT_FALSE(diags.items().empty());
  bool found = false;
  for (const auto& d : diags.items()) {
    if (d.message.find(c.message) != std::string::npos) {
      found = true;
      EXPECT_EQ(d.file, "m.json");
      EXPECT_EQ(d.pos.line, c.line) << d.ToString();
    }
  }
  EXPECT_TRUE(found) << "no diagnostic contains '" << c.message << "':\n" << diags.ToString();
}

INSTANTIATE_TEST_SUITE_P(
    MigrationFile, ParseErrors,
    ::testing::Values(
        ParseErrorCase{"invalid_json", "{\n\"version\": \"0001\",\n\"up\": [,]\n}", 3, "not valid JSON"},
        ParseErrorCase{"not_an_object", "[1]", 1, "holds a JSON object"},
        ParseErrorCase{"unknown_op", Wrap(R"J({"op": "truncate_table", "table": "t"})J"), 6, "unknown operation \"truncate_table\""},
        ParseErrorCase{"op_not_object", Wrap(R"J("create_table")J"), 6, "an operation must be an object"},
        ParseErrorCase{"missing_op", Wrap(R"J({"table": "t"})J"), 6, "missing field \"op\""},
        ParseErrorCase{"missing_field", Wrap(R"J({"op": "add_column", "table": "t"})J"), 6, "missing field \"column\""},
        ParseErrorCase{"extra_field", Wrap("{\"op\": \"rename_table\", \"from\": \"a\", \"to\": \"b\",\n \"table\": \"t\"}"), 7,
                       "unknown field \"table\""},
        ParseErrorCase{"wrong_type", Wrap("{\"op\": \"add_column\", \"table\": \"t\",\n\"column\": {\"name\": \"c\", \"type\": \"text\",\n\"not_null\": \"yes\"}}"),
                       8, "field \"not_null\" must be true or false, not a string"},
        ParseErrorCase{"bad_type", Wrap(R"J({"op": "add_column", "table": "t", "column": {"name": "c", "type": "decimal(2)"}})J"), 6,
                       "decimal needs precision and scale"},
        ParseErrorCase{"bad_default_kind", Wrap(R"J({"op": "add_column", "table": "t", "column": {"name": "c", "type": "text", "default": {"kind": "random"}}})J"), 6,
                       "unknown default kind \"random\""},
        ParseErrorCase{"bad_constraint_kind", Wrap(R"J({"op": "add_constraint", "table": "t", "constraint": {"name": "k", "kind": "exclusion"}})J"), 6,
                       "unknown constraint kind \"exclusion\""},
        ParseErrorCase{"bad_fk_action", Wrap(R"J({"op": "add_constraint", "table": "t", "constraint": {"name": "k", "kind": "foreign_key", "columns": ["a"], "ref_table": "u", "ref_columns": ["id"], "on_delete": "explode"}})J"), 6,
                       "unknown action \"explode\""},
        ParseErrorCase{"bad_command", Wrap(R"J({"op": "create_policy", "table": "t", "policy": {"name": "p", "command": "merge"}})J"), 6,
                       "unknown command \"merge\""},
        ParseErrorCase{"bad_index_column", Wrap(R"J({"op": "create_index", "table": "t", "index": {"name": "i", "columns": ["a sideways"]}})J"), 6,
                       "index column \"a sideways\""},
        ParseErrorCase{"empty_name", Wrap(R"J({"op": "drop_table", "table": "", "columns": [{"name": "a", "type": "text"}]})J"), 6,
                       "field \"table\" must not be empty"},
        ParseErrorCase{"empty_columns", Wrap(R"J({"op": "create_table", "table": "t", "columns": []})J"), 6,
                       "field \"columns\" must not be empty"},
        ParseErrorCase{"column_element", Wrap("{\"op\": \"create_table\", \"table\": \"t\", \"columns\": [\n{\"name\": \"a\"}]}"), 7,
                       "columns[0]: missing field \"type\""},
        ParseErrorCase{"value_map_type", Wrap(R"J({"op": "replace_enum", "enum": "e", "old_values": ["a"], "values": ["b"], "value_map": {"a": 1}})J"), 6,
                       "value_map must map strings to strings"},
        ParseErrorCase{"raw_sql_empty", Wrap(R"J({"op": "raw_sql"})J"), 6, "raw_sql needs sql_postgres, sql_sqlite or both"},
        ParseErrorCase{"duplicate_key", Wrap("{\"op\": \"install_support\", \"name\": \"auth\",\n\"name\": \"auth\"}"), 7,
                       "field \"name\" is written twice"},
        ParseErrorCase{"bad_version", "{\"plinth_migration\": 1,\n\"version\": \"12\", \"parent\": \"\", \"up\": [], \"down\": []}", 2,
                       "version \"12\" must be a sequence number"},
        ParseErrorCase{"newer_format", "{\"plinth_migration\": 2, \"version\": \"0001\", \"parent\": \"\", \"up\": [], \"down\": []}", 1,
                       "format version 2 is not known"},
        ParseErrorCase{"missing_parent", "{\"plinth_migration\": 1, \"version\": \"0001\", \"up\": [], \"down\": []}", 1,
                       "missing field \"parent\""},
        ParseErrorCase{"missing_down", "{\"plinth_migration\": 1, \"version\": \"0001\", \"parent\": \"\", \"up\": []}", 1,
                       "missing field \"down\""},
        ParseErrorCase{"unknown_top_level", "{\"plinth_migration\": 1, \"version\": \"0001\", \"parent\": \"\",\n\"up\": [], \"down\": [],\n\"sideways\": true}", 3,
                       "unknown field \"sideways\""}),
    [](const auto& info) { return info.param.name; });

TEST(MigrationFile, ReportsEveryProblemAtOnce) {
  std::string text = Wrap(
      "{\"op\": \"frobnicate\"},\n"
      "{\"op\": \"add_column\", \"table\": 5, \"column\": {\"name\": \"c\", \"type\": \"text\"}},\n"
      "{\"op\": \"drop_policy\", \"table\": \"t\"}");
  Diagnostics diags;
  auto m = Parse(text, diags);
  ASSERT_FALSE(m.ok());
  ASSERT_EQ(diags.error_count(), 3u) << diags.ToString();
  EXPECT_EQ(diags.items()[0].pos.line, 6);
  EXPECT_EQ(diags.items()[1].pos.line, 7);
  EXPECT_EQ(diags.items()[2].pos.line, 8);
  EXPECT_THAT(m.status().message(), HasSubstr("3 problems"));
}

TEST(MigrationFile, AcceptsAnyIdentifierAsAnEnumType) {
  std::string text = Wrap(R"J({"op": "add_column", "table": "t", "column": {"name": "c", "type": "mood"}})J");
  Diagnostics diags;
  auto m = Parse(text, diags);
  ASSERT_TRUE(m.ok()) << diags.ToString();
  EXPECT_EQ(m->up[0].column.type.kind, schema::TypeKind::kEnum);
  EXPECT_EQ(m->up[0].column.type.enum_name, "mood");
  // ApplyOp is where the enum must exist.
  schema::Schema s = SchemaB().Table(TableB("t")).Build();
  Status st = ApplyOp(s, m->up[0]);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("enum mood does not exist"));
}

// ---- the migration directory ---------------------------------------------------------------

class MigrationDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("plinth_mcore_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& file, const std::string& version, const std::string& parent,
             const std::string& table = "t") {
    Migration m;
    m.version = version;
    m.parent = parent;
    m.name = file;
    Op op = MakeOp(OpKind::kCreateTable);
    op.table_def = TableB(table + version).Build();
    m.up.push_back(op);
    std::ofstream(dir_ / file) << ToFileText(m);
  }
  Result<std::vector<Migration>> Load(Diagnostics& diags) { return LoadMigrationDir(dir_.string(), diags); }

  std::filesystem::path dir_;
};

TEST_F(MigrationDir, MissingDirectoryHoldsNoMigrations) {
  Diagnostics diags;
  auto r = LoadMigrationDir((dir_ / "nope").string(), diags);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(MigrationDir, LoadsInVersionOrderAndIgnoresOtherFiles) {
  Write("0002_second.json", "0002", "0001");
  Write("0001_first.json", "0001", "");
  Write("0003_third.json", "0003", "0002");
  std::ofstream(dir_ / "README.md") << "notes";
  std::ofstream(dir_ / "0004_draft.json.tmp") << "{";
  Diagnostics diags;
  auto r = Load(diags);
  ASSERT_TRUE(r.ok()) << diags.ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].version, "0001");
  EXPECT_EQ((*r)[2].version, "0003");
  EXPECT_EQ((*r)[2].path, (dir_ / "0003_third.json").string());
  auto state = Replay(*r, 3);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->tables.size(), 3u);
}

TEST_F(MigrationDir, MalformedFileIsReportedWithItsPath) {
  Write("0001_first.json", "0001", "");
  std::ofstream(dir_ / "0002_broken.json") << "{\n  \"version\": \"0002\",\n  oops\n}";
  Diagnostics diags;
  auto r = Load(diags);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(diags.error_count(), 1u) << diags.ToString();
  EXPECT_EQ(diags.items()[0].file, (dir_ / "0002_broken.json").string());
  EXPECT_EQ(diags.items()[0].pos.line, 3);
}

TEST_F(MigrationDir, Gap) {
  Write("0001_a.json", "0001", "");
  Write("0002_b.json", "0002", "0001");
  Write("0004_d.json", "0004", "0002");
  Diagnostics diags;
  auto r = Load(diags);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(diags.error_count(), 1u) << diags.ToString();
  EXPECT_THAT(diags.items()[0].message, HasSubstr("version 0003 is missing: 0004_d.json follows 0002_b.json"));
  EXPECT_THAT(diags.items()[0].hint, HasSubstr("renumber 0004_d.json to 0003"));
}

TEST_F(MigrationDir, FirstVersionMustBeOne) {
  Write("0002_b.json", "0002", "0001");
  Diagnostics diags;
  ASSERT_FALSE(Load(diags).ok());
  EXPECT_THAT(diags.ToString(), HasSubstr("versions start at 0001"));
}

TEST_F(MigrationDir, DuplicateVersionsFromTwoBranches) {
  Write("0001_a.json", "0001", "");
  Write("0002_add_tags.json", "0002", "0001", "tags");
  Write("0002_add_notes.json", "0002", "0001", "notes");
  Diagnostics diags;
  auto r = Load(diags);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(diags.error_count(), 1u) << diags.ToString();
  const auto& d = diags.items()[0];
  EXPECT_THAT(d.message, HasSubstr("0002_add_notes.json and 0002_add_tags.json both have version 0002"));
  EXPECT_THAT(d.message, HasSubstr("two branches"));
  EXPECT_THAT(d.hint, HasSubstr("rename 0002_add_tags.json to 0003_add_tags.json"));
  EXPECT_THAT(d.hint, HasSubstr("\"parent\" to \"0002\""));
}

TEST_F(MigrationDir, ParentMismatchAfterRenumbering) {
  Write("0001_a.json", "0001", "");
  Write("0002_add_tags.json", "0002", "0001", "tags");
  Write("0003_add_notes.json", "0003", "0001", "notes");  // renumbered, parent not updated
  Diagnostics diags;
  ASSERT_FALSE(Load(diags).ok());
  ASSERT_EQ(diags.error_count(), 1u) << diags.ToString();
  EXPECT_THAT(diags.items()[0].message,
              HasSubstr("0003_add_notes.json has parent 0001 but follows 0002_add_tags.json: it was created on "
                        "another branch"));
  EXPECT_THAT(diags.items()[0].hint, HasSubstr("set its \"parent\" to \"0002\""));
}

TEST_F(MigrationDir, FileNameMustMatchVersion) {
  Write("0001_a.json", "0002", "");
  Diagnostics diags;
  ASSERT_FALSE(Load(diags).ok());
  EXPECT_THAT(diags.ToString(), HasSubstr("the file holds version 0002 but its name starts with 0001"));
}

// ---- versions and file names ---------------------------------------------------------------

TEST(Versions, NextVersion) {
  EXPECT_EQ(NextVersion(""), "0001");
  EXPECT_EQ(NextVersion("0001"), "0002");
  EXPECT_EQ(NextVersion("0009"), "0010");
  EXPECT_EQ(NextVersion("0099"), "0100");
  EXPECT_EQ(NextVersion("9999"), "10000");
  EXPECT_EQ(NextVersion("10000"), "10001");
  EXPECT_EQ(NextVersion("99999"), "100000");
  EXPECT_EQ(NextVersion("12a"), "");
}

TEST(Versions, FileNameFor) {
  Migration m;
  m.version = "0003";
  m.name = "Add templates";
  EXPECT_EQ(FileNameFor(m), "0003_add_templates.json");
  m.name = "  --Fix: users' e-mail (again)!  ";
  EXPECT_EQ(FileNameFor(m), "0003_fix_users_e_mail_again.json");
  m.name = "";
  EXPECT_EQ(FileNameFor(m), "0003_migration.json");
  m.name = "Ünïcode ✓ only";
  EXPECT_EQ(FileNameFor(m), "0003_n_code_only.json");
  m.name = std::string(80, 'a');
  EXPECT_EQ(FileNameFor(m), "0003_" + std::string(50, 'a') + ".json");
  m.name = std::string(49, 'a') + " b";
  EXPECT_EQ(FileNameFor(m), "0003_" + std::string(49, 'a') + ".json");
}

TEST(MigrationFile, HasDataLoss) {
  Migration m = Sample();
  EXPECT_TRUE(m.HasDataLoss(false));
  EXPECT_FALSE(m.HasDataLoss(true));
}

}  // namespace
}  // namespace plinth::migrate
