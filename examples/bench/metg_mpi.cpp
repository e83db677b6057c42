// raympi-metg's baseline: the same graph with plain MPI, as Task Bench's MPI
// implementation runs it (columns in contiguous blocks, halo swaps with
// Isend/Irecv after each row).
#include "metg_graph.hpp"

#include <utility>

namespace metg {

/// Columns in contiguous blocks: process p owns [first(p), first(p + 1)).
struct Blocks {
  int width, procs;
  int first(int p) const { return int(std::int64_t(p) * width / procs); }
  int owner(int col) const { return int((std::int64_t(col + 1) * procs - 1) / width); }
};

/// @brief Runs the graph once on `comm`: each process computes its columns
/// row by row and swaps its boundary columns with its neighbours (Isend/Irecv)
/// after each row. Times barrier to barrier; the checksum is valid on process 0.
Run run_mpi(MPI_Comm comm, const Graph& g, std::int64_t iterations) {
  int p = 0, procs = 1;
  MPI_Comm_rank(comm, &p);
  MPI_Comm_size(comm, &procs);
  const Blocks b{g.width, procs};
  const int c0 = b.first(p), n = b.first(p + 1) - c0;
  // Columns c0 - 1 .. c0 + n: the halos at both ends.
  std::vector<Value> prev(std::size_t(n) + 2), next(std::size_t(n) + 2);
  const int left = n > 0 && c0 > 0 ? b.owner(c0 - 1) : MPI_PROC_NULL;
  const int right = n > 0 && c0 + n < g.width ? b.owner(c0 + n) : MPI_PROC_NULL;
  MPI_Barrier(comm);
  const double t0 = MPI_Wtime();
  for (int t = 0; t < g.steps && n > 0; ++t) {
    for (int k = 1; k <= n; ++k) {
      const int i = c0 + k - 1;
      next[k] = t == 0 ? stencil_point(0, i, nullptr, nullptr, nullptr, iterations)
                       : stencil_point(t, i, g.has_left(i) ? &prev[k - 1] : nullptr, &prev[k],
                                       g.has_right(i) ? &prev[k + 1] : nullptr, iterations);
    }
    if (t + 1 < g.steps) {  // the last row has no readers
      MPI_Request req[4];
      MPI_Irecv(next[0].data(), kLanes, MPI_DOUBLE, left, 0, comm, &req[0]);
      MPI_Irecv(next[n + 1].data(), kLanes, MPI_DOUBLE, right, 0, comm, &req[1]);
      MPI_Isend(next[1].data(), kLanes, MPI_DOUBLE, left, 0, comm, &req[2]);
      MPI_Isend(next[n].data(), kLanes, MPI_DOUBLE, right, 0, comm, &req[3]);
      MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
    }
    std::swap(prev, next);
  }
  MPI_Barrier(comm);
  const double seconds = MPI_Wtime() - t0;
  // The final row on process 0, for the checksum (not timed).
  std::vector<int> counts(static_cast<std::size_t>(procs)), displs(static_cast<std::size_t>(procs));
  for (int q = 0; q < procs; ++q) {
    counts[q] = kLanes * (b.first(q + 1) - b.first(q));
    displs[q] = kLanes * b.first(q);
  }
  std::vector<Value> row(p == 0 ? static_cast<std::size_t>(g.width) : 0);
  MPI_Gatherv(prev[1].data(), kLanes * n, MPI_DOUBLE, row.data(), counts.data(), displs.data(), MPI_DOUBLE, 0, comm);
  return {seconds, p == 0 ? checksum(row) : 0.0};
}

}  // namespace metg
