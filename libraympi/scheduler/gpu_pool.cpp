#include "scheduler/gpu_pool.hpp"

#include <algorithm>
#include <cmath>

namespace raympi::detail {

namespace {
constexpr double kEps = 1e-9;
}

GpuPool::GpuPool(double total) : used_(std::size_t(std::max(0.0, std::ceil(total - kEps))), 0.0) {}

// Demands of 1 or more take whole GPUs (a non-whole amount above 1 rounds up;
// the front end refuses those); below 1 is a fraction of one GPU.
int GpuPool::whole(double amount) const { return amount >= 1 - kEps ? int(std::ceil(amount - kEps)) : 0; }

// The id a fraction goes to: the fullest GPU it still fits in (packing keeps
// whole GPUs free), else -1.
int GpuPool::fraction_slot(double amount) const {
  int best = -1;
  for (std::size_t i = 0; i < used_.size(); ++i)
    if (used_[i] + amount <= 1 + kEps && (best < 0 || used_[i] > used_[std::size_t(best)])) best = int(i);
  return best;
}

bool GpuPool::can_take(double amount) const {
  if (amount <= kEps) return true;
  if (int k = whole(amount)) {
    int free = 0;
    for (double u : used_) free += u <= kEps;
    return free >= k;
  }
  return fraction_slot(amount) >= 0;
}

std::vector<int> GpuPool::take(double amount) {
  std::vector<int> ids;
  if (!can_take(amount) || amount <= kEps) return ids;
  if (int k = whole(amount)) {
    for (std::size_t i = 0; i < used_.size() && int(ids.size()) < k; ++i)
      if (used_[i] <= kEps) ids.push_back(int(i));
    for (int id : ids) used_[std::size_t(id)] = 1;
    return ids;
  }
  int id = fraction_slot(amount);
  used_[std::size_t(id)] += amount;
  return {id};
}

void GpuPool::give(double amount, const std::vector<int>& ids) {
  double each = whole(amount) ? 1.0 : amount;
  for (int id : ids) {
    if (id < 0 || std::size_t(id) >= used_.size()) continue;
    double& u = used_[std::size_t(id)];
    u = u - each < kEps ? 0.0 : u - each;
  }
}

}  // namespace raympi::detail
