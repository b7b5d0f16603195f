// ScheduleReader: a schedule file's rows back into states, checked (schedule_file.hpp).
#include <algorithm>
#include <filesystem>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/io/h5.hpp"
#include "kvsweep/schedule/schedule_file.hpp"
#include "row_type.hpp"

namespace kvsweep::schedule {

namespace {
constexpr std::uint64_t kChunkRows = std::uint64_t{1} << 16;

std::string shape_text(const std::vector<std::uint32_t>& prompts, std::uint64_t d, std::uint64_t l, std::uint64_t k) {
  std::string p;
  for (std::size_t b = 0; b < prompts.size(); ++b) p += (b ? "," : "") + std::to_string(prompts[b]);
  return "P=" + (prompts.size() > 1 ? "[" + p + "]" : p) + " D=" + std::to_string(d) + " L=" + std::to_string(l) +
         " k=" + std::to_string(k);
}
}  // namespace

// One of /promote, /evict, read a chunk at a time.
struct ScheduleReader::Stream {
  io::Dataset ds;
  io::Datatype type = row_datatype();  // the rows in memory
  std::uint64_t length = 0, next = 0;  // rows in the file; the first row not yet in buf
  std::vector<Row> buf;
  std::size_t at = 0;
  std::uint32_t last_state = 0;

  // The next row, or null at the end.
  const Row* peek() {
    if (at == buf.size()) {
      if (next == length) return nullptr;
      const std::uint64_t count = std::min(kChunkRows, length - next);
      buf.resize(count);
      ds.read(type.id(), buf.data(), next, count);
      next += count;
      at = 0;
    }
    return &buf[at];
  }
};

ScheduleReader::ScheduleReader(const std::string& path, const trace::TraceShape& shape, std::uint64_t capacity_entries)
    : path_(path), shape_(shape), capacity_(capacity_entries) {
  if (!std::filesystem::exists(path)) throw core::InputError(path, "no such schedule file");
  if (!io::is_hdf5_file(path)) throw core::InputError(path, "not an HDF5 file; a schedule file is described in docs/schedule-file.md");
  try {
    io::File file = io::File::open(path);
    const hid_t root = file.id();
    const auto text = [&](const char* name) {
      return io::has_attribute(root, name) ? io::read_attribute<std::string>(root, name) : std::string();
    };
    if (text("format") != kFormat) {
      throw core::InputError(path, "not a kvsweep schedule: attribute 'format' is '" + text("format") + "', expected '" +
                                       kFormat + "' (docs/schedule-file.md)");
    }
    const auto integer = [&](const char* name) -> std::int64_t {
      if (!io::has_attribute(root, name)) throw core::InputError(path, std::string("attribute '") + name + "' is missing");
      return io::read_attribute<std::int64_t>(root, name);
    };
    if (integer("version") != kVersion) {
      throw core::InputError(path, "schedule version " + std::to_string(integer("version")) + "; this kvsweep reads version " +
                                       std::to_string(kVersion));
    }
    const std::string capacity = text("capacity");
    if (capacity != "hbm" && capacity != "unlimited") {
      throw core::InputError(path, "attribute 'capacity' is '" + capacity + "'; allowed: hbm, unlimited");
    }
    info_.respects_capacity = capacity == "hbm";
    info_.policy = text("policy");
    info_.point_id = text("point_id");
    // The shape: every sequence's prompt, D, L and k must be the point's.
    if (!io::has_link(root, "prompt_tokens")) throw core::InputError(path, "dataset /prompt_tokens is missing");
    const io::Dataset p = io::Dataset::open(root, "prompt_tokens");
    const std::vector<std::uint32_t> prompts = p.read<std::uint32_t>(0, p.length());
    const std::int64_t d = integer("decode_tokens"), l = integer("layers"), k = integer("kv_block_tokens");
    std::vector<std::uint32_t> want(shape.batch_size());
    for (std::uint32_t b = 0; b < shape.batch_size(); ++b) want[b] = shape.prompt(b);
    if (prompts != want || d != shape.decode_tokens || l != shape.layers || k != shape.block_tokens) {
      throw core::InputError(path, "schedule for " + shape_text(prompts, d, l, k) + " but the point's trace is " +
                                       shape_text(want, shape.decode_tokens, shape.layers, shape.block_tokens));
    }
    auto open = [&](const char* name) {
      if (!io::has_link(root, name)) throw core::InputError(path, std::string("dataset /") + name + " is missing");
      auto s = std::make_unique<Stream>();
      s->ds = io::Dataset::open(root, name);
      const io::Datatype t = s->ds.type();
      const std::vector<std::string> members = t.type_class() == H5T_COMPOUND ? t.member_names() : std::vector<std::string>{};
      for (const char* m : {"state", "sequence", "layer", "block"}) {
        if (std::find(members.begin(), members.end(), m) == members.end()) {
          throw core::InputError(path, std::string("/") + name +
                                           " must be a 1-D table of (state, sequence, layer, block) unsigned integers; "
                                           "it has no member '" + m + "' (docs/schedule-file.md)");
        }
      }
      s->length = s->ds.length();
      return s;
    };
    promote_ = open("promote");
    evict_ = open("evict");
    // The file stays open through the datasets (HDF5 closes it with the last of them).
  } catch (const io::H5Error& e) {
    throw core::InputError(path, std::string("cannot read the schedule: ") + e.what());
  }
}

ScheduleReader::~ScheduleReader() = default;

void ScheduleReader::refuse(const Row& row, const std::string& what) const {
  throw core::InputError(path_, "state " + std::to_string(row.state) + ", sequence " + std::to_string(row.sequence) +
                                    ", layer " + std::to_string(row.layer) + ", block " + std::to_string(row.block) +
                                    ": " + what);
}

void ScheduleReader::apply(std::uint32_t state, cost::Residency& r) {
  const std::size_t k = shape_.block_tokens;
  auto& promoted = promoted_;  // (layer, first position) promoted in this state
  promoted.clear();
  const Row* last_promotion = nullptr;
  Row last{};
  // Every row of `s` with this state, in file order; rows of an earlier state after a later one refused.
  auto rows = [&](Stream& s, const char* what, auto&& each) {
    for (const Row* row = s.peek(); row != nullptr && row->state <= state; row = s.peek()) {
      if (row->state < s.last_state) {
        refuse(*row, std::string("/") + what + " is not sorted by state (state " + std::to_string(s.last_state) +
                         " came before)");
      }
      s.last_state = row->state;
      if (row->state != state) {
        refuse(*row, std::string("/") + what + " is not sorted by state");
      }
      const Row copy = *row;
      ++s.at;
      if (copy.sequence >= shape_.batch_size()) {
        refuse(copy, "no such sequence: the point has " + std::to_string(shape_.batch_size()));
      }
      if (copy.layer >= shape_.layers) refuse(copy, "no such layer: the point has " + std::to_string(shape_.layers));
      // Tokens of the sequence at this state: its prompt, then one per decode step done.
      const std::uint64_t tokens = shape_.prompt(copy.sequence) + std::uint64_t{state};
      if (static_cast<std::uint64_t>(copy.block) * k >= tokens) {
        refuse(copy, "holds an entry that does not exist yet (the sequence has " + std::to_string(tokens) +
                         " tokens in this state: blocks 0.." + std::to_string((tokens - 1) / k) + ")");
      }
      const std::size_t start = shape_.base(copy.sequence) + static_cast<std::size_t>(copy.block) * k;
      const std::size_t end = shape_.base(copy.sequence) + std::min<std::uint64_t>((copy.block + 1ULL) * k, tokens);
      each(copy, r.layer(copy.layer), start, end);
    }
    if (const Row* row = s.peek(); row != nullptr && row->state > shape_.decode_tokens && state == shape_.decode_tokens) {
      refuse(*row, "no such state: the point has states 0.." + std::to_string(shape_.decode_tokens) +
                       " (0: after prefill, s: while decode step s reads)");
    }
  };
  rows(*promote_, "promote", [&](const Row& row, core::TokenBitset& layer, std::size_t start, std::size_t end) {
    if (layer.count_range(start, end) != 0) refuse(row, "promotes a block that is already held");
    layer.set_range(start, end);
    promoted.emplace_back(row.layer, start);
    ++held_blocks_;
    last = row;
    last_promotion = &last;
  });
  std::sort(promoted.begin(), promoted.end());
  rows(*evict_, "evict", [&](const Row& row, core::TokenBitset& layer, std::size_t start, std::size_t end) {
    if (layer.count_range(start, end) == 0) refuse(row, "evicts a block that is not held");
    if (std::binary_search(promoted.begin(), promoted.end(), std::make_pair(row.layer, start))) {
      refuse(row, "evicts a block promoted in the same state");
    }
    layer.reset_range(start, end);
    --held_blocks_;
  });
  // A decode step's new token joins its block when that block is held.
  if (state >= 1) {
    const std::uint32_t n = shape_.prompt_tokens + state - 1;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      core::TokenBitset& layer = r.layer(l);
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::size_t p = shape_.new_entry(b, n);
        const std::size_t start = shape_.base(b) + ((p - shape_.base(b)) & ~(k - 1));
        if (start < p && layer.count_range(start, p) != 0) layer.set(p);
      }
    }
  }
  if (info_.respects_capacity && held_blocks_ * k > capacity_) {
    const std::string what = "HBM holds " + std::to_string(held_blocks_ * k) + " entries in this state, above its capacity of " +
                             std::to_string(capacity_) + (k > 1 ? " (" + std::to_string(k) + " per block)" : "");
    if (last_promotion != nullptr) refuse(*last_promotion, what + "; the last promotion of the state");
    throw core::InputError(path_, "state " + std::to_string(state) + ": " + what);
  }
}

}  // namespace kvsweep::schedule
