#include "gcs/gcs.hpp"

namespace raympi::detail {

Gcs::Gcs(std::vector<NodeRecordWire> nodes, std::vector<std::string> functions, std::size_t dead_actor_limit)
    : functions_(std::move(functions)), dead_actor_limit_(dead_actor_limit) {
  auto now = std::chrono::steady_clock::now();
  for (auto& n : nodes) nodes_[n.rank] = NodeRecord{n.host, n.total, n.total, now, 0};
}

void Gcs::on_load(const NodeLoadMsg& m) {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(m.rank);
  if (it == nodes_.end()) return;
  it->second.available = m.available;
  it->second.finished = m.finished;
  it->second.last_heartbeat = std::chrono::steady_clock::now();
}

std::vector<ObjectId> Gcs::on_events(const GcsEventsMsg& m) {
  std::vector<ObjectId> unnamed;
  std::lock_guard lk(mu_);
  for (auto& a : m.actors) {
    ActorRecord& r = record_locked(a.actor);
    bool was_dead = r.state == ActorState::dead;
    r.node = a.node;
    set_state_locked(r, a.state);
    set_restarts_locked(r, a.restarts);
    r.actor_class = a.actor_class;
    if (!a.message.empty()) r.message = a.message;
    if (a.state != ActorState::dead || was_dead) continue;
    if (!r.name.empty()) {
      auto it = actor_names_.find(r.name);
      if (it != actor_names_.end() && it->second == a.actor) actor_names_.erase(it);
      unnamed.push_back(a.actor);
    }
    actor_died_locked(a.actor);
  }
  tasks_seen_ += m.tasks_finished;
  tasks_failed_ += m.tasks_failed;
  for (auto& [name, f] : m.functions) functions_stats_[name].add(f);
  if (!m.node_stats.empty()) node_stats_[m.node].add(m.node_stats);
  objects_seen_ += m.objects_created;
  objects_freed_ += m.objects_freed;
  auto it = nodes_.find(m.node);
  if (it != nodes_.end()) it->second.last_heartbeat = std::chrono::steady_clock::now();
  return unnamed;
}

std::string Gcs::register_actor(const std::string& name, ObjectId actor, const std::string& actor_class) {
  std::lock_guard lk(mu_);
  auto [it, fresh] = actor_names_.emplace(name, actor);
  if (!fresh) {
    auto& other = record_locked(it->second);
    return "raympi::actor(...).name(\"" + name + "\"): the name is taken by a live actor (id " +
           std::to_string(it->second.value) + (other.node >= 0 ? ", rank " + std::to_string(other.node) : "") +
           "); choose another name, kill() that actor first, or use raympi::get_actor(\"" + name + "\")";
  }
  ActorRecord& r = record_locked(actor);
  r.name = name;
  r.actor_class = actor_class;
  return {};
}

std::optional<std::pair<ObjectId, std::string>> Gcs::lookup_actor(const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = actor_names_.find(name);
  if (it == actor_names_.end()) return std::nullopt;
  return std::make_pair(it->second, record_locked(it->second).actor_class);
}

void Gcs::forget_actor(ObjectId actor) {
  std::lock_guard lk(mu_);
  auto it = actors_.find(actor);
  if (it == actors_.end()) return;
  if (!it->second.name.empty()) {
    auto n = actor_names_.find(it->second.name);
    if (n != actor_names_.end() && n->second == actor) actor_names_.erase(n);
  }
  if (it->second.state != ActorState::dead) {
    set_state_locked(it->second, ActorState::dead);
    actor_died_locked(actor);
  }
}

Gcs::ActorRecord& Gcs::record_locked(ObjectId id) {
  auto [it, fresh] = actors_.try_emplace(id);
  if (fresh) ++actors_in_state_[int(it->second.state)];
  return it->second;
}

void Gcs::set_state_locked(ActorRecord& r, ActorState s) {
  --actors_in_state_[int(r.state)];
  ++actors_in_state_[int(s)];
  r.state = s;
}

void Gcs::set_restarts_locked(ActorRecord& r, std::int32_t restarts) {
  actor_restarts_ += std::uint64_t(restarts);
  actor_restarts_ -= std::uint64_t(r.restarts);
  r.restarts = restarts;
}

void Gcs::actor_died_locked(ObjectId id) {
  // Dead actors stay in the table for inspection, up to a limit.
  dead_actors_.push_back(id);
  while (dead_actors_.size() > dead_actor_limit_) {
    auto old = actors_.find(dead_actors_.front());
    if (old != actors_.end() && old->second.state == ActorState::dead) {
      --actors_in_state_[int(ActorState::dead)];
      actor_restarts_ -= std::uint64_t(old->second.restarts);
      actors_.erase(old);
    }
    dead_actors_.pop_front();
  }
}

std::optional<Gcs::ActorRecord> Gcs::actor(ObjectId id) {
  std::lock_guard lk(mu_);
  auto it = actors_.find(id);
  if (it == actors_.end()) return std::nullopt;
  return it->second;
}

void Gcs::mark_dead(int rank, const std::string& why) {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(rank);
  if (it != nodes_.end()) it->second.dead = true;
  std::vector<ObjectId> lost;
  for (auto& [id, a] : actors_)
    if (a.node == rank && a.state != ActorState::dead) lost.push_back(id);
  for (ObjectId id : lost) {
    auto a = actors_.find(id);
    if (a == actors_.end()) continue;
    set_state_locked(a->second, ActorState::dead);
    a->second.message = "its node " + why;
    if (!a->second.name.empty()) {  // the name is free again
      auto n = actor_names_.find(a->second.name);
      if (n != actor_names_.end() && n->second == id) actor_names_.erase(n);
    }
    actor_died_locked(id);
  }
}

GcsReplyMsg Gcs::answer(const GcsQueryMsg& q) {
  std::lock_guard lk(mu_);
  GcsReplyMsg r;
  r.request = q.request;
  auto now = std::chrono::steady_clock::now();
  for (auto& [rank, n] : nodes_) {
    NodeRecordWire w;
    w.rank = rank;
    w.host = n.host;
    w.total = n.total;
    w.available = n.available;
    w.since_heartbeat = std::chrono::duration<double>(now - n.last_heartbeat).count();
    w.alive = !n.dead;
    w.finished = n.finished;
    r.nodes.push_back(std::move(w));
  }
  r.counters["functions"] = functions_.size();
  if (q.kind == GcsQueryKind::summary) {
    r.functions = functions_stats_;
    r.node_stats = node_stats_;
    r.counters["objects_freed"] = objects_freed_;
  }
  // Batches of different ranks arrive in any order: never report less than none.
  r.counters["objects_live"] = objects_seen_ > objects_freed_ ? objects_seen_ - objects_freed_ : 0;
  r.counters["objects_seen"] = objects_seen_;
  r.counters["tasks_seen"] = tasks_seen_;
  r.counters["tasks_failed"] = tasks_failed_;
  r.counters["actors_pending"] = actors_in_state_[int(ActorState::pending)];
  r.counters["actors_alive"] = actors_in_state_[int(ActorState::alive)];
  r.counters["actors_restarting"] = actors_in_state_[int(ActorState::restarting)];
  r.counters["actors_dead"] = actors_in_state_[int(ActorState::dead)];
  r.counters["actor_restarts"] = actor_restarts_;
  r.counters["actor_names"] = actor_names_.size();
  return r;
}

}  // namespace raympi::detail
