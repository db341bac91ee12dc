// The default two-step write of the storage contract (storage.h): PrepareWrite keeps the batch and
// CommitWrite hands it to WriteSpans, for backends with nothing to prepare ahead of their commit.
#include "storage/storage.h"

namespace teletrace::storage {
namespace {

class KeptBatch final : public Backend::PreparedWrite {
 public:
  KeptBatch(model::SpanBatch batch, uint64_t ingestion_time_unix_nano)
      : batch(std::move(batch)), ingestion_time_unix_nano(ingestion_time_unix_nano) {}
  model::SpanBatch batch;
  uint64_t ingestion_time_unix_nano;
};

}  // namespace

std::unique_ptr<Backend::PreparedWrite> Backend::PrepareWrite(model::SpanBatch batch,
                                                              uint64_t ingestion_time_unix_nano) {
  return std::make_unique<KeptBatch>(std::move(batch), ingestion_time_unix_nano);
}

absl::Status Backend::CommitWrite(PreparedWrite& prepared) {
  auto* kept = dynamic_cast<KeptBatch*>(&prepared);
  if (kept == nullptr) {
    return absl::InternalError("storage: CommitWrite got a write this backend did not prepare");
  }
  return WriteSpans(std::move(kept->batch), kept->ingestion_time_unix_nano);
}

}  // namespace teletrace::storage
