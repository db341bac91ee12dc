// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil ships none).
//
//   absl::Status Load() {
//     RETURN_IF_ERROR(Open());
//     ASSIGN_OR_RETURN(auto rows, Query());
//     ...
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TELETRACE_CONCAT_INNER(a, b) a##b
#define TELETRACE_CONCAT(a, b) TELETRACE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status teletrace_status_ = (expr);       \
    if (!teletrace_status_.ok()) return teletrace_status_; \
  } while (0)

#define TELETRACE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  TELETRACE_ASSIGN_OR_RETURN_IMPL(TELETRACE_CONCAT(teletrace_statusor_, __LINE__), lhs, expr)
