// ClickHouse's RowBinary format, the wire form of inserts and of every query result we read:
// little-endian fixed-width numbers, LEB128 lengths before String and Array values, FixedString
// as its raw bytes, Date as UInt16 days. Binary, so ids, blobs and doubles cross exactly.
//
// Not thread safe; one instance per request or response.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace teletrace::storage::clickhouse {

class RowBinaryWriter {
 public:
  void UInt8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void UInt16(uint16_t v) { Fixed(v, 2); }
  void UInt32(uint32_t v) { Fixed(v, 4); }
  void UInt64(uint64_t v) { Fixed(v, 8); }
  void Int64(int64_t v) { Fixed(static_cast<uint64_t>(v), 8); }
  void Float64(double v);
  void VarUInt(uint64_t v);
  void String(std::string_view v) {
    VarUInt(v.size());
    out_.append(v);
  }
  // FixedString(N): exactly the N bytes the caller passes.
  void Fixed(std::string_view bytes) { out_.append(bytes); }
  // Array(T): the element count; the caller writes the elements next.
  void ArraySize(size_t n) { VarUInt(n); }

  // Makes room for `bytes` in all, so that appending up to that size never copies what is there.
  void Reserve(size_t bytes) { out_.reserve(bytes); }
  const std::string& data() const { return out_; }
  std::string Release() && { return std::move(out_); }

 private:
  void Fixed(uint64_t v, int bytes);
  std::string out_;
};

// Reads a response; every read fails with DataLoss naming what was being read when the input ends
// early or a length is implausible, so a truncated or unexpected response never crashes us.
class RowBinaryReader {
 public:
  explicit RowBinaryReader(std::string_view data) : data_(data) {}

  bool AtEnd() const { return pos_ >= data_.size(); }
  absl::StatusOr<uint8_t> UInt8();
  absl::StatusOr<uint16_t> UInt16();
  absl::StatusOr<uint64_t> UInt64();
  absl::StatusOr<int64_t> Int64();
  absl::StatusOr<double> Float64();
  absl::StatusOr<uint64_t> VarUInt();
  absl::StatusOr<std::string_view> String();
  absl::StatusOr<std::string_view> Fixed(size_t n);

 private:
  absl::StatusOr<uint64_t> FixedInt(int bytes);
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace teletrace::storage::clickhouse
