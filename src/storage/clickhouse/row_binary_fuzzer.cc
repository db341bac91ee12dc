// Fuzzes the RowBinary reader, which reads every ClickHouse response: any bytes read in any order
// of column types must give values or DataLoss, never a crash, and every value read must be the
// one an independent decoder finds at the same place.
//
// Input: byte 0 is the length L of a "schema" that follows it (one byte per read, cycled until
// the reader fails or reaches the end); the rest is the response body.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/clickhouse/row_binary.h"

namespace {

using teletrace::storage::clickhouse::RowBinaryReader;
using teletrace::storage::clickhouse::RowBinaryWriter;

[[noreturn]] void Fail() { std::abort(); }

template <typename T>
void CheckDataLoss(const absl::StatusOr<T>& v) {
  if (!v.ok() && v.status().code() != absl::StatusCode::kDataLoss) Fail();
}

uint64_t LittleEndian(std::string_view body, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(body[pos + i])) << (8 * i);
  }
  return v;
}

// LEB128 as ClickHouse writes it: at most 10 bytes. Returns false when the input ends first or
// the 10th byte still continues. `*pos` moves past the bytes read.
bool ModelVarUInt(std::string_view body, size_t* pos, uint64_t* value) {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (*pos >= body.size()) return false;
    auto byte = static_cast<uint8_t>(body[(*pos)++]);
    if (i == 9 && byte > 1) return false;  // the tenth byte holds bit 63 only
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *value = v;
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t schema_size = std::min<size_t>(static_cast<uint8_t>(input[0]), size - 1);
  std::string_view schema = input.substr(1, schema_size);
  std::string_view body = input.substr(1 + schema_size);
  if (schema.empty()) schema = std::string_view("\x00\x01\x02\x03\x04\x05\x06\x07", 8);

  RowBinaryReader reader(body);
  size_t pos = 0;  // where the model says the reader is
  // FixedString(0) reads nothing: bound the steps so a schema of only those ends.
  const size_t max_steps = 2 * body.size() + schema.size();
  for (size_t step = 0; !reader.AtEnd() && step < max_steps; ++step) {
    if (reader.AtEnd() != (pos >= body.size())) Fail();
    auto op = static_cast<uint8_t>(schema[step % schema.size()]);
    size_t left = body.size() - pos;
    bool ok = false;
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
      case 3: {  // UInt8, UInt16, UInt64, Int64
        static constexpr int kWidth[] = {1, 2, 8, 8};
        int width = kWidth[op % 8];
        uint64_t got = 0;
        if (op % 8 == 0) {
          auto v = reader.UInt8();
          CheckDataLoss(v);
          ok = v.ok();
          if (ok) got = *v;
        } else if (op % 8 == 1) {
          auto v = reader.UInt16();
          CheckDataLoss(v);
          ok = v.ok();
          if (ok) got = *v;
        } else if (op % 8 == 2) {
          auto v = reader.UInt64();
          CheckDataLoss(v);
          ok = v.ok();
          if (ok) got = *v;
        } else {
          auto v = reader.Int64();
          CheckDataLoss(v);
          ok = v.ok();
          if (ok) got = static_cast<uint64_t>(*v);
        }
        if (ok != (left >= static_cast<size_t>(width))) Fail();
        if (ok && got != LittleEndian(body, pos, width)) Fail();
        if (ok) pos += width;
        break;
      }
      case 4: {  // Float64, bit for bit
        auto v = reader.Float64();
        CheckDataLoss(v);
        ok = v.ok();
        if (ok != (left >= 8)) Fail();
        if (ok) {
          uint64_t bits = 0;
          std::memcpy(&bits, &*v, sizeof(bits));
          if (bits != LittleEndian(body, pos, 8)) Fail();
          pos += 8;
        }
        break;
      }
      case 5: {  // VarUInt, and the writer's encoding of the value reads back the same
        size_t model_pos = pos;
        uint64_t model_value = 0;
        bool model_ok = ModelVarUInt(body, &model_pos, &model_value);
        auto v = reader.VarUInt();
        CheckDataLoss(v);
        ok = v.ok();
        if (ok != model_ok || (ok && *v != model_value)) Fail();
        if (ok) {
          pos = model_pos;
          RowBinaryWriter w;
          w.VarUInt(*v);
          RowBinaryReader again(w.data());
          auto back = again.VarUInt();
          if (!back.ok() || *back != *v || !again.AtEnd()) Fail();
        }
        break;
      }
      case 6: {  // String: a view of the body exactly where the model finds it
        size_t model_pos = pos;
        uint64_t n = 0;
        bool model_ok = ModelVarUInt(body, &model_pos, &n) && n <= body.size() - model_pos;
        auto v = reader.String();
        CheckDataLoss(v);
        ok = v.ok();
        if (ok != model_ok) Fail();
        if (ok) {
          if (v->size() != n || v->data() != body.data() + model_pos) Fail();
          pos = model_pos + n;
          RowBinaryWriter w;
          w.String(*v);
          RowBinaryReader again(w.data());
          auto back = again.String();
          if (!back.ok() || *back != *v || !again.AtEnd()) Fail();
        }
        break;
      }
      case 7: {  // FixedString(N), N from the schema (and sometimes huge)
        size_t n = (op >> 3) == 31 ? SIZE_MAX - (op & 7) : static_cast<size_t>(op >> 3);
        auto v = reader.Fixed(n);
        CheckDataLoss(v);
        ok = v.ok();
        if (ok != (n <= left)) Fail();
        if (ok) {
          if (v->size() != n || v->data() != body.data() + pos) Fail();
          pos += n;
        }
        break;
      }
    }
    if (!ok) break;
    if (pos > body.size()) Fail();
  }
  return 0;
}
