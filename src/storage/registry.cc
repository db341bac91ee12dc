#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/storage.h"

namespace teletrace::storage {

void BackendRegistry::Register(std::string name, BackendDescriptor descriptor) {
  backends_[std::move(name)] = std::move(descriptor);
}

absl::StatusOr<std::unique_ptr<Backend>> BackendRegistry::Create(
    const std::string& name, const BackendSettings& settings) const {
  auto it = backends_.find(name);
  if (it == backends_.end()) {
    return absl::NotFoundError(absl::StrCat("storage.backend: unknown backend \"", name,
                                            "\" (known: ", absl::StrJoin(Names(), ", "), ")"));
  }
  return it->second.factory(settings);
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, descriptor] : backends_) names.push_back(name);
  return names;
}

}  // namespace teletrace::storage
