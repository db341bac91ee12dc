// The storage conformance suite: the behaviour every backend must show, run unchanged against each
// real engine (as Jaeger's StorageIntegration.RunAll is). A backend instantiates it with a factory
// that returns a fresh, empty store for every test:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StorageConformance,
//                            ::testing::Values(StorageFactory([] { return NewEmptyStore(); })));
//
// Link it whole: the TEST_Ps register from static initialisers that nothing references, so a
// plain static link drops them (gtest then fails GoogleTestVerification with "uninstantiated"):
//   TEST_DEPS "$<LINK_LIBRARY:WHOLE_ARCHIVE,teletrace_storage_testing>"
//
// The suite asserts exact results (fields, orders, counts, messages) for writes and every reader
// method: field fidelity, idempotent rewrites, whole and paged traces, time ranges, every filter
// operator at every key level, both sorts in both directions with cursor paging, tag keys, tag
// values, statistics, histograms and the system id. Query semantics are the engine's
// (query/engine.h), so a backend that pushes work into its database must match them exactly.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "query/query.h"
#include "storage/storage.h"

namespace teletrace::storage::testing {

// The key `text` parsed, and a filter on it validated; a failure is a test failure (EXPECT).
query::Key KeyOf(std::string_view text);
query::Filter FilterOf(std::string_view key, query::Operator op,
                       std::optional<query::Scalar> value = std::nullopt,
                       std::vector<query::Scalar> values = {});

// Returns a new backend over an empty store; called once per test. Crashing (or returning null)
// on failure is fine: it is test setup.
using StorageFactory = std::function<std::unique_ptr<Backend>()>;

class StorageConformance : public ::testing::TestWithParam<StorageFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<Backend> backend_;
};

}  // namespace teletrace::storage::testing
