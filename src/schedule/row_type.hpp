#pragma once
// The HDF5 compound type of a schedule row, in memory (schedule_file.hpp's Row).
#include <cstddef>

#include "kvsweep/io/h5.hpp"
#include "kvsweep/schedule/schedule_file.hpp"

namespace kvsweep::schedule {

inline io::Datatype row_datatype() {
  io::Datatype t = io::Datatype::compound(sizeof(Row));
  t.insert("state", offsetof(Row, state), io::native_type<std::uint32_t>());
  t.insert("sequence", offsetof(Row, sequence), io::native_type<std::uint32_t>());
  t.insert("layer", offsetof(Row, layer), io::native_type<std::uint32_t>());
  t.insert("block", offsetof(Row, block), io::native_type<std::uint32_t>());
  return t;
}

}  // namespace kvsweep::schedule
