#pragma once
// The narrow interface between the header-only typed front end and the
// runtime inside libraympi. Everything here is type-erased.

#include <chrono>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "raympi/detail/archive.hpp"
#include "raympi/detail/object_store_view.hpp"
#include "raympi/detail/refs.hpp"

namespace raympi::detail {

struct FunctionInfo;

/// @brief A resource demand: CPU and GPU slots plus named custom resources.
struct ResourceDemand {
  double cpu = 1;
  double gpu = 0;
  std::vector<std::pair<std::string, double>> custom;  // sorted by name, no duplicates

  void set(const std::string& name, double amount);
  template <class Archive>
  void serialize(Archive& ar) { ar(cpu, gpu, custom); }
};

/// @brief What the typed front end hands to the runtime for one task.
struct TaskSubmission {
  const FunctionInfo* fn = nullptr;
  std::string name;
  ResourceDemand demand;
  int max_retries = 0;
  Buffer args;                    // one flag + payload per parameter
  std::vector<ObjectId> deps;     // objects to resolve before the call, by dependency slot
  std::vector<RefPtr> held;       // every ref the spec carries (dependencies and handles)
};

/// @brief What an invoker reads and writes when a task runs.
struct Invocation {
  InArchive* args = nullptr;
  const StoredPtr* deps = nullptr;
  std::size_t num_deps = 0;
  Buffer result;
  std::shared_ptr<const void> value;
  const std::type_info* type = nullptr;
  std::vector<RefPtr> contained;
};

RefPtr submit_task(TaskSubmission&& s);
RefPtr put_object(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
                  std::vector<RefPtr> contained);
/// Blocks until every object is in this node's store; negative timeout: forever.
std::vector<StoredPtr> get_objects(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout);
/// Blocks until `num_returns` objects are local or the timeout ends; 1 = ready, per input.
std::vector<char> wait_objects(const std::vector<ObjectId>& ids, std::size_t num_returns,
                               std::chrono::nanoseconds timeout);

/// @brief Counters of this rank's runtime, for tests and diagnostics.
struct LocalStats {
  std::size_t store_objects = 0;  // objects in this node's store (copies included)
  std::size_t store_bytes = 0;
  std::size_t ref_records = 0;    // reference-table records (live refs known here)
  std::size_t owned_objects = 0;  // objects this rank owns and has not freed
  std::size_t fetches = 0;        // fetches in flight
  template <class Archive>
  void serialize(Archive& ar) { ar(store_objects, store_bytes, ref_records, owned_objects, fetches); }
};
LocalStats local_stats();

}  // namespace raympi::detail
