// What this binary is: the version (the repository's VERSION file, the one place it is written),
// the commit it was built from and the day it was built. Shown by `teletrace --version` and
// /v1/system-info. The definitions are generated at build time (cmake/build_info.cmake).
#pragma once

#include <string_view>

namespace teletrace {

struct BuildInfo {
  std::string_view version;  // semver, e.g. "0.1.0"
  std::string_view commit;   // 12 hex digits, "-dirty" appended for uncommitted changes; or "unknown"
  std::string_view date;     // UTC, YYYY-MM-DD (SOURCE_DATE_EPOCH when set, for reproducible builds)
};

const BuildInfo& GetBuildInfo();

}  // namespace teletrace
