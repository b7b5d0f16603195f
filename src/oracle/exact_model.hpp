#pragma once
// What the two exact models share (exact_milp.cpp: per entry, for a lone sequence placed token by
// token; exact_batch.cpp: per block, for a batch, blocks or a per-transfer cost): the MILP in
// row-triplet form, the size check and the one Cbc run that solves it.

#include <cstdint>
#include <limits>
#include <vector>

#include "kvsweep/oracle/exact.hpp"

namespace kvsweep::oracle::milp {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Model {
  std::vector<double> col_lb, col_ub, obj;
  std::vector<bool> integer;
  std::vector<int> rows, cols;
  std::vector<double> vals;
  std::vector<double> row_lb, row_ub;

  int add_col(double lb, double ub, double cost, bool is_int) {
    col_lb.push_back(lb);
    col_ub.push_back(ub);
    obj.push_back(cost);
    integer.push_back(is_int);
    return static_cast<int>(obj.size()) - 1;
  }
  int add_row(double lb, double ub) {
    row_lb.push_back(lb);
    row_ub.push_back(ub);
    return static_cast<int>(row_lb.size()) - 1;
  }
  void add(int row, int col, double v) {
    rows.push_back(row);
    cols.push_back(col);
    vals.push_back(v);
  }
};

// std::invalid_argument naming both numbers when binaries > limit.
void check_size(std::uint64_t binaries, std::uint64_t limit);

// Cbc's answer, in the model's own units.
struct Solution {
  std::vector<double> values;  // one per column
  double objective = 0;
  double bound = 0;  // best possible objective
  bool proven_optimal = false;
  std::uint64_t nodes = 0;
};

// Solves the model with Cbc within the options' wall and node limits (one solve at a time in the
// process: Cbc's driver keeps state of its own). Throws std::runtime_error when Cbc found no solution.
Solution solve(const Model& md, const ExactOptions& options);

}  // namespace kvsweep::oracle::milp
