#pragma once
/// @file metg_graph.hpp
/// @brief raympi-metg's task graph (Task Bench's stencil_1d), its kernel and
/// checksum, shared by the raympi and the plain-MPI implementations, and the
/// plain-MPI implementation itself (metg_mpi.cpp).

// MPI's C API through raympi's header, which keeps mpi.h from pulling in the
// deprecated C++ bindings (they need libmpi_cxx).
#include <raympi/raympi.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace metg {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The task graph, its kernel and its checksum: shared by both implementations.

/// A task's output: four doubles.
using Value = std::array<double, 4>;
constexpr int kLanes = 4;
/// One kernel iteration is `x = x * a + b` on each of the 4 lanes: one multiply
/// and one add per lane (not fused: the build is ISO C++, where GCC does not
/// contract), 8 FLOP. The lanes are independent chains of dependent operations.
constexpr double kFlopsPerIteration = 2.0 * kLanes;

/// The shape of the graph: `steps` rows of `width` tasks.
struct Graph {
  int steps = 0, width = 0;
  double tasks() const { return double(steps) * width; }
  bool has_left(int i) const { return i > 0; }
  bool has_right(int i) const { return i + 1 < width; }
};

/// @brief Task (t, i): a weighted mean of its inputs (null where clipped, and
/// at t = 0) plus a term unique to (t, i, lane), then `iterations` kernel
/// iterations. Defined out of line (metg_graph.cpp), so that both
/// implementations run the same machine code and their results agree to the bit.
Value stencil_point(int t, int i, const Value* left, const Value* centre, const Value* right, std::int64_t iterations);

/// @brief The final row's checksum, weighted by position so that a column in
/// the wrong place changes it.
double checksum(const std::vector<Value>& row);

/// @brief Nanoseconds per kernel iteration on the calling thread: the best of
/// 5 calls of at least 5 ms each (the best, so that a busy moment does not count).
double ns_per_iteration();

/// One run of the graph: wall time, and the final row's checksum (where known).
struct Run {
  double seconds = 0;
  double checksum = 0;
};

/// @brief Runs the graph once on `comm` with plain MPI (metg_mpi.cpp); the
/// checksum is valid on process 0.
Run run_mpi(MPI_Comm comm, const Graph& g, std::int64_t iterations);

}  // namespace metg
