#include "core/gcs_server.hpp"

#include "core/context.hpp"
#include "core/object_table.hpp"

namespace raympi::detail {

void GcsServer::on_events(const GcsEventsMsg& batch) {
  std::vector<RefPtr> dropped;  // handles of named actors that died: their names are free again
  for (ObjectId id : gcs_->on_events(batch)) {
    std::lock_guard lk(pins_mu_);
    auto it = named_pins_.find(id);
    if (it == named_pins_.end()) continue;
    dropped.push_back(std::move(it->second));
    named_pins_.erase(it);
  }
}

GcsReplyMsg GcsServer::answer(const GcsQueryMsg& q) {
  GcsReplyMsg r;
  r.request = q.request;
  switch (q.kind) {
    case GcsQueryKind::nodes:
    case GcsQueryKind::tables:
    case GcsQueryKind::summary: return gcs_->answer(q);
    case GcsQueryKind::actor_register: {
      RefPtr pin = std::move(cx_.objects->claim({q.actor}, q.minter)[0]);
      r.error = gcs_->register_actor(q.name, q.actor, q.actor_class);
      if (r.error.empty()) {
        std::lock_guard lk(pins_mu_);
        named_pins_[q.actor] = std::move(pin);
      }
      return r;  // a refused pin drops here: its token goes back
    }
    case GcsQueryKind::actor_lookup: {
      auto found = gcs_->lookup_actor(q.name);
      if (!found) return r;
      std::lock_guard lk(pins_mu_);
      auto it = named_pins_.find(found->first);
      if (it == named_pins_.end()) return r;
      cx_.objects->mint({it->second});  // the asker claims this token
      r.actor = found->first;
      r.actor_class = found->second;
      r.minter = cx_.rank;
      return r;
    }
    case GcsQueryKind::actor_forget: {
      gcs_->forget_actor(q.actor);
      RefPtr dropped;
      {
        std::lock_guard lk(pins_mu_);
        auto it = named_pins_.find(q.actor);
        if (it != named_pins_.end()) {
          dropped = std::move(it->second);
          named_pins_.erase(it);
        }
      }
      return r;  // `dropped` goes after the lock
    }
  }
  return r;
}

}  // namespace raympi::detail
