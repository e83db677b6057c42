#pragma once
// The GCS rank's service: the Gcs tables (gcs/), plus the one handle the GCS
// keeps for each named actor (a named actor outlives its creator's handles).

#include <memory>
#include <mutex>
#include <unordered_map>

#include "gcs/gcs.hpp"
#include "raympi/detail/refs.hpp"

namespace raympi::detail {

struct Context;

/// @brief Answers GCS queries and takes event batches, on the GCS rank.
class GcsServer {
 public:
  GcsServer(Context& cx, std::unique_ptr<Gcs> gcs) : cx_(cx), gcs_(std::move(gcs)) {}

  void on_events(const GcsEventsMsg& batch);
  void on_load(const NodeLoadMsg& m) { gcs_->on_load(m); }
  void mark_dead(int rank, const std::string& why) { gcs_->mark_dead(rank, why); }
  GcsReplyMsg answer(const GcsQueryMsg& q);

 private:
  Context& cx_;
  std::unique_ptr<Gcs> gcs_;
  std::mutex pins_mu_;  // named_pins_
  std::unordered_map<ObjectId, RefPtr> named_pins_;  // one handle per named actor
};

}  // namespace raympi::detail
