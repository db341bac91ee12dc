#include "storage/clickhouse/row_binary.h"

#include <cstring>

#include "absl/status/status.h"
#include "common/encoding.h"
#include "fmt/format.h"

namespace teletrace::storage::clickhouse {
namespace {

absl::Status Truncated(std::string_view what, size_t pos) {
  return absl::DataLossError(
      fmt::format("clickhouse: RowBinary response ends inside a {} at byte {}", what, pos));
}

}  // namespace

void RowBinaryWriter::Float64(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(bits));
  Fixed(bits, 8);
}

void RowBinaryWriter::VarUInt(uint64_t v) { encoding::AppendVarint(&out_, v); }

void RowBinaryWriter::Fixed(uint64_t v, int bytes) { encoding::AppendFixed(&out_, v, bytes); }

absl::StatusOr<uint64_t> RowBinaryReader::FixedInt(int bytes) {
  // pos_ never passes the end (every read checks before advancing); the subtraction is safe.
  if (data_.size() - pos_ < static_cast<size_t>(bytes)) {
    return Truncated(fmt::format("{}-byte integer", bytes), pos_);
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
  }
  pos_ += bytes;
  return v;
}

absl::StatusOr<uint8_t> RowBinaryReader::UInt8() {
  absl::StatusOr<uint64_t> v = FixedInt(1);
  if (!v.ok()) return v.status();
  return static_cast<uint8_t>(*v);
}

absl::StatusOr<uint16_t> RowBinaryReader::UInt16() {
  absl::StatusOr<uint64_t> v = FixedInt(2);
  if (!v.ok()) return v.status();
  return static_cast<uint16_t>(*v);
}

absl::StatusOr<uint64_t> RowBinaryReader::UInt64() { return FixedInt(8); }

absl::StatusOr<int64_t> RowBinaryReader::Int64() {
  absl::StatusOr<uint64_t> v = FixedInt(8);
  if (!v.ok()) return v.status();
  return static_cast<int64_t>(*v);
}

absl::StatusOr<double> RowBinaryReader::Float64() {
  absl::StatusOr<uint64_t> v = FixedInt(8);
  if (!v.ok()) return v.status();
  double d = 0;
  uint64_t bits = *v;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

absl::StatusOr<uint64_t> RowBinaryReader::VarUInt() {
  const size_t start = pos_;
  const char* p = data_.data() + pos_;
  uint64_t v = 0;
  switch (encoding::ReadVarint(&p, data_.data() + data_.size(), &v)) {
    case encoding::ReadResult::kOk:
      pos_ = static_cast<size_t>(p - data_.data());
      return v;
    case encoding::ReadResult::kTruncated:
      pos_ = data_.size();
      return Truncated("length", pos_);
    case encoding::ReadResult::kTooLong:
      break;
  }
  return absl::DataLossError(
      fmt::format("clickhouse: RowBinary length at byte {} does not fit in 64 bits", start));
}

absl::StatusOr<std::string_view> RowBinaryReader::String() {
  absl::StatusOr<uint64_t> n = VarUInt();
  if (!n.ok()) return n.status();
  // Compared with what is left, never allocated: a huge length from the server is an error, and
  // the result is a view into the response.
  if (*n > data_.size() - pos_) return Truncated("string", pos_);
  std::string_view s = data_.substr(pos_, *n);
  pos_ += *n;
  return s;
}

absl::StatusOr<std::string_view> RowBinaryReader::Fixed(size_t n) {
  if (n > data_.size() - pos_) return Truncated("fixed string", pos_);
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

}  // namespace teletrace::storage::clickhouse
