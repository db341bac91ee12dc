#include "storage/clickhouse/schema.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/clickhouse/migrations.h"

namespace teletrace::storage::clickhouse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SchemaTest, RendersPlaceholdersForASingleNode) {
  absl::StatusOr<std::vector<std::string>> s = RenderStatements(
      "-- a comment; with a semicolon\n"
      "CREATE TABLE IF NOT EXISTS ${db}.t${local} ${on_cluster} (x UInt8)\n"
      "ENGINE = ${merge_tree:t} ORDER BY x;\n"
      "${distributed:t};\n"
      "CREATE TABLE ${db}.g ${on_cluster} (x UInt8) ENGINE = ${global_merge_tree:g} ORDER BY x;\n",
      SchemaOptions{"tt", ""});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, ElementsAre("CREATE TABLE IF NOT EXISTS tt.t  (x UInt8)\n"
                              "ENGINE = MergeTree() ORDER BY x",
                              "CREATE TABLE tt.g  (x UInt8) ENGINE = MergeTree() ORDER BY x"));
}

TEST(SchemaTest, RendersPlaceholdersForACluster) {
  absl::StatusOr<std::vector<std::string>> s = RenderStatements(
      "CREATE TABLE IF NOT EXISTS ${db}.t${local} ${on_cluster} (x UInt8)\n"
      "ENGINE = ${merge_tree:t} ORDER BY x;\n"
      "${distributed:t};\n"
      "CREATE TABLE ${db}.g ${on_cluster} (x UInt8) ENGINE = ${global_merge_tree:g} ORDER BY x;\n",
      SchemaOptions{"tt", "main"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(
      *s,
      ElementsAre(
          "CREATE TABLE IF NOT EXISTS tt.t_local ON CLUSTER main (x UInt8)\n"
          "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/tt/t_local', '{replica}') "
          "ORDER BY x",
          "CREATE TABLE IF NOT EXISTS tt.t ON CLUSTER main AS tt.t_local ENGINE = "
          "Distributed('main', 'tt', 't_local', cityHash64(trace_id))",
          "CREATE TABLE tt.g ON CLUSTER main (x UInt8) ENGINE = "
          "ReplicatedMergeTree('/clickhouse/tables/global/tt/g', '{shard}-{replica}') ORDER BY x"));
}

TEST(SchemaTest, LowCardinalityOnlyWhereAllowed) {
  absl::StatusOr<std::vector<std::string>> with =
      RenderStatements("CREATE TABLE t (s ${lc_string})", SchemaOptions{"tt", "", true});
  absl::StatusOr<std::vector<std::string>> without =
      RenderStatements("CREATE TABLE t (s ${lc_string})", SchemaOptions{"tt", "main", false});
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_THAT(*with, ElementsAre("CREATE TABLE t (s LowCardinality(String))"));
  EXPECT_THAT(*without, ElementsAre("CREATE TABLE t (s String)"));
}

TEST(SchemaTest, UnknownPlaceholderIsAnError) {
  absl::StatusOr<std::vector<std::string>> s =
      RenderStatements("SELECT ${nope}", SchemaOptions{"tt", ""});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "clickhouse schema: unknown placeholder ${nope}");
}

TEST(SchemaTest, EmbeddedMigrationsRenderInBothModes) {
  ASSERT_GE(std::size(kMigrations), 2u);
  EXPECT_EQ(kMigrations[0].name, "000_bootstrap.sql");
  EXPECT_EQ(kMigrations[1].name, "001_initial.sql");
  for (const EmbeddedFile& m : kMigrations) {
    for (const std::string& cluster : {std::string(), std::string("main")}) {
      absl::StatusOr<std::vector<std::string>> s =
          RenderStatements(m.contents, SchemaOptions{"teletrace", cluster});
      ASSERT_TRUE(s.ok()) << m.name << ": " << s.status();
      for (const std::string& statement : *s) {
        EXPECT_THAT(statement, Not(HasSubstr("${"))) << m.name;
        // Idempotent: a restart or a second process runs them again harmlessly.
        EXPECT_THAT(statement, HasSubstr("IF NOT EXISTS")) << m.name;
        if (!cluster.empty()) {
          EXPECT_THAT(statement, HasSubstr("ON CLUSTER main")) << m.name;
          EXPECT_THAT(statement, Not(HasSubstr("MergeTree()"))) << m.name;
        }
      }
    }
  }
  absl::StatusOr<std::vector<std::string>> single =
      RenderStatements(kMigrations[1].contents, SchemaOptions{"teletrace", ""});
  absl::StatusOr<std::vector<std::string>> cluster =
      RenderStatements(kMigrations[1].contents, SchemaOptions{"teletrace", "main"});
  ASSERT_TRUE(single.ok() && cluster.ok());
  // spans, trace_index, the view, system_info; plus two Distributed tables on a cluster.
  EXPECT_EQ(single->size(), 4u);
  EXPECT_EQ(cluster->size(), 6u);
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
