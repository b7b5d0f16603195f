// ScheduleWriter: a schedule's states as promote/evict rows (schedule_file.hpp).
#include <algorithm>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "kvsweep/io/h5.hpp"
#include "kvsweep/schedule/schedule_file.hpp"
#include "row_type.hpp"

namespace kvsweep::schedule {

namespace {
constexpr std::size_t kFlushRows = std::size_t{1} << 16;
}  // namespace

struct ScheduleWriter::H5 {
  io::File file;
  io::Dataset promote, evict;
  io::Datatype row_type;
};

ScheduleWriter::ScheduleWriter(std::string path, const trace::TraceShape& shape, const ScheduleInfo& info)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), shape_(shape), h5_(std::make_unique<H5>()),
      prev_(shape.layers, shape.space()) {
  for (std::uint32_t b = 0; b < shape.batch_size(); ++b) bases_.push_back(shape.base(b));
  h5_->file = io::File::create(tmp_, /*overwrite=*/true);
  const hid_t root = h5_->file.id();
  io::write_attribute(root, "format", kFormat);
  io::write_attribute(root, "version", kVersion);
  io::write_attribute(root, "decode_tokens", shape.decode_tokens);
  io::write_attribute(root, "layers", shape.layers);
  io::write_attribute(root, "kv_block_tokens", shape.block_tokens);
  io::write_attribute(root, "capacity", info.respects_capacity ? "hbm" : "unlimited");
  io::write_attribute(root, "policy", info.policy);
  io::write_attribute(root, "point_id", info.point_id);
  std::vector<std::uint32_t> prompts(shape.batch_size());
  for (std::uint32_t b = 0; b < shape.batch_size(); ++b) prompts[b] = shape.prompt(b);
  io::Dataset::create_appendable(root, "prompt_tokens", io::native_type<std::uint32_t>(), {1024, -1, false})
      .append(std::span<const std::uint32_t>(prompts));
  h5_->row_type = row_datatype();
  const io::AppendableOptions rows{hsize_t{1} << 14, 4, true};
  h5_->promote = io::Dataset::create_appendable(root, "promote", h5_->row_type.id(), rows);
  h5_->evict = io::Dataset::create_appendable(root, "evict", h5_->row_type.id(), rows);
}

ScheduleWriter::~ScheduleWriter() {
  if (finished_) return;
  h5_.reset();  // closes the temporary file before removing it
  std::error_code ec;
  std::filesystem::remove(tmp_, ec);
}

void ScheduleWriter::record(std::uint32_t state, const cost::Residency& r) {
  if (state != next_state_ || state > shape_.decode_tokens) {
    throw std::logic_error("ScheduleWriter: state " + std::to_string(state) + " recorded, expected " +
                           std::to_string(next_state_));
  }
  ++next_state_;
  const std::size_t k = shape_.block_tokens;
  const std::size_t space = shape_.space();
  for (std::uint32_t l = 0; l < shape_.layers; ++l) {
    const core::TokenBitset& cur = r.layer(l);
    core::TokenBitset& old = prev_.layer(l);
    const std::span<const core::Word> cw = cur.words();
    const std::span<core::Word> ow = old.words();
    // Blocks with a changed bit, each looked at once: held (any bit set) before and after.
    std::vector<std::size_t>& changed = changed_;
    changed.clear();
    for (std::size_t w = 0; w < cw.size(); ++w) {
      core::Word x = cw[w] ^ ow[w];
      while (x != 0) {
        const std::size_t pos = w * core::kWordBits + static_cast<std::size_t>(std::countr_zero(x));
        const std::size_t start = pos & ~(k - 1);  // segments start at multiples of max(k, 64)
        const std::size_t end = std::min(start + k, space);
        changed.push_back(start);
        if (end >= (w + 1) * core::kWordBits) {
          w = (end + core::kWordBits - 1) / core::kWordBits - 1;
          break;
        }
        x &= ~((core::Word{1} << (end % core::kWordBits)) - 1);
      }
    }
    for (const std::size_t start : changed) {
      const std::size_t end = std::min(start + k, space);
      const bool before = old.count_range(start, end) != 0, after = cur.count_range(start, end) != 0;
      if (before == after) continue;  // a new token joined a held block
      const auto b = static_cast<std::uint32_t>(std::upper_bound(bases_.begin(), bases_.end(), start) - bases_.begin() - 1);
      const Row row{state, b, l, static_cast<std::uint32_t>((start - bases_[b]) / k)};
      (after ? promote_ : evict_).push_back(row);
    }
    std::copy(cw.begin(), cw.end(), ow.begin());
  }
  if (promote_.size() + evict_.size() >= kFlushRows) flush_rows();
}

void ScheduleWriter::flush_rows() {
  h5_->promote.append(h5_->row_type.id(), promote_.data(), promote_.size());
  h5_->evict.append(h5_->row_type.id(), evict_.data(), evict_.size());
  promotions_ += promote_.size();
  evictions_ += evict_.size();
  promote_.clear();
  evict_.clear();
}

void ScheduleWriter::finish() {
  if (next_state_ != shape_.decode_tokens + 1) {
    throw std::logic_error("ScheduleWriter: finished after " + std::to_string(next_state_) + " of " +
                           std::to_string(shape_.decode_tokens + 1) + " states");
  }
  flush_rows();
  h5_->promote = {};
  h5_->evict = {};
  h5_->file.close();  // checked: the last write must have reached the file
  std::filesystem::rename(tmp_, path_);
  finished_ = true;
}

}  // namespace kvsweep::schedule
