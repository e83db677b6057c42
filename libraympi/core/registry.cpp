// Function registry: RAYMPI_REMOTE and lambdas register here at static
// initialisation; lookups by address (submission) and id (execution).
#include "core/registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

#include "raympi/detail/registry.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, FunctionInfo*> by_key;
  std::unordered_map<const void*, FunctionInfo*> by_address;
  std::unordered_map<std::uint64_t, FunctionInfo*> by_id;
  std::map<std::string, FunctionInfo*> methods;  // member-pointer bytes -> info
  std::vector<std::string> errors;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: used from static destructors too
  return *r;
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) { h ^= c; h *= 1099511628211ull; }
  return h ? h : 1;
}

std::string clean_name(const char* name) {
  std::string s;
  for (const char* p = name; *p; ++p)
    if (*p != ' ' && *p != '\t' && *p != '\n') s.push_back(*p);
  if (!s.empty() && s[0] == '&') s.erase(0, 1);
  if (s.rfind("::", 0) == 0) s.erase(0, 2);
  return s;
}

// A class's name for people: demangled, without "(anonymous namespace)::",
// which is noise in a timeline row.
std::string readable_class(const char* mangled) {
  constexpr std::string_view anonymous = "(anonymous namespace)::";
  std::string cls = demangle(mangled);
  for (auto at = cls.find(anonymous); at != std::string::npos; at = cls.find(anonymous)) cls.erase(at, anonymous.size());
  return cls;
}

FunctionInfo* add_locked(Registry& r, std::string name, std::string key, FunctionKind kind, InvokeFn invoke,
                         const void* address) {
  auto it = r.by_key.find(key);
  if (it != r.by_key.end()) {
    if (it->second->address != address)
      r.errors.push_back("two different functions are registered as '" + name +
                         "' (same name and type); qualify them, e.g. RAYMPI_REMOTE(ns::" + name + ")");
    return it->second;
  }
  auto* info = new FunctionInfo{name, key, fnv1a(key), kind, invoke, address, nullptr, {}, {}};
  auto [idit, fresh] = r.by_id.emplace(info->id, info);
  if (!fresh) r.errors.push_back("function ids collide: '" + idit->second->name + "' and '" + name + "'");
  r.by_key.emplace(key, info);
  return info;
}

}  // namespace

const FunctionInfo* register_function(const void* address, const char* name, const char* type_name,
                                      InvokeFn invoke, InvokeFn factory, const char* actor_class) {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  std::string display = std::string(name) == "lambda" ? "lambda " + demangle(type_name) : clean_name(name);
  FunctionInfo* info = add_locked(r, display, display + "|" + type_name, FunctionKind::function, invoke, address);
  info->factory = factory;
  info->actor_class = actor_class;
  if (factory) info->actor_display = readable_class(actor_class);
  // One function spelled two ways: the smallest key wins everywhere (deterministic).
  auto& slot = r.by_address[address];
  if (!slot || info->key < slot->key) slot = info;
  return slot;
}

const FunctionInfo* register_method(const void* pointer_bytes, std::size_t size, const char* name,
                                    const char* type_name, InvokeFn invoke, const char* actor_class) {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  std::string display = clean_name(name);
  auto slot = r.methods.emplace(std::string(static_cast<const char*>(pointer_bytes), size), nullptr).first;
  // The map's key outlives the process's use of it: the invoker reads the member pointer from there.
  FunctionInfo* info =
      add_locked(r, display, display + "|" + type_name, FunctionKind::method, invoke, slot->first.data());
  info->actor_class = actor_class;
  slot->second = info;
  return info;
}

const FunctionInfo* find_method(const void* pointer_bytes, std::size_t size) {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  auto it = r.methods.find(std::string(static_cast<const char*>(pointer_bytes), size));
  return it == r.methods.end() ? nullptr : it->second;
}

void throw_unregistered_method(const char* class_name) {
  std::string cls = demangle(class_name);
  throw Error("raympi: a method of " + cls + " is called on an actor but is not registered. Add RAYMPI_REMOTE(&" +
              cls + "::method) at namespace scope in one .cpp file of the program (every rank must register it).");
}

const FunctionInfo* find_function(const void* address) {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  auto it = r.by_address.find(address);
  return it == r.by_address.end() ? nullptr : it->second;
}

const FunctionInfo* find_function(std::uint64_t id) {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  auto it = r.by_id.find(id);
  return it == r.by_id.end() ? nullptr : it->second;
}

void throw_unregistered(const void* address) {
  std::string full = "<function at " + std::to_string(reinterpret_cast<std::uintptr_t>(address)) + ">";
  std::string shortname = "f";
  Dl_info dl{};
  if (dladdr(address, &dl) && dl.dli_sname) {
    full = demangle(dl.dli_sname);
    shortname = full.substr(0, full.find('('));
  }
  throw Error("raympi::task: " + full + " is not registered as a remote function. Add RAYMPI_REMOTE(" + shortname +
              ") at namespace scope in one .cpp file of the program (every rank must register it).");
}

std::vector<std::string> registry_keys() {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  std::vector<std::string> keys;
  for (auto& [k, _] : r.by_key) keys.push_back(k);
  return keys;  // std::map: already sorted
}

std::vector<std::string> registry_errors() {
  auto& r = registry();
  std::lock_guard lk(r.mu);
  return r.errors;
}

std::string registry_display_name(const std::string& key) { return key.substr(0, key.find('|')); }

std::string encode_registry_keys(const std::vector<std::string>& keys) {
  std::string s;
  for (auto& k : keys) s += k + '\n';
  return s;
}

namespace {
std::vector<std::string> sorted_registry_keys(const std::string& encoded) {
  std::vector<std::string> keys;
  for (std::size_t pos = 0; pos < encoded.size();) {
    std::size_t end = std::min(encoded.find('\n', pos), encoded.size());
    keys.push_back(encoded.substr(pos, end - pos));
    pos = end + 1;
  }
  std::sort(keys.begin(), keys.end());  // sorted and unique when sent; made so again, the bytes came from another rank
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}
}  // namespace

void check_registry_agreement(const std::vector<std::string>& gathered) {
  if (gathered.empty()) return;
  const std::vector<std::string> base = sorted_registry_keys(gathered[0]);  // every rank computes the same message
  for (std::size_t r = 1; r < gathered.size(); ++r) {
    if (gathered[r] == gathered[0]) continue;
    const std::vector<std::string> theirs = sorted_registry_keys(gathered[r]);
    std::vector<std::string> only_base, only_theirs;
    std::set_difference(base.begin(), base.end(), theirs.begin(), theirs.end(), std::back_inserter(only_base));
    std::set_difference(theirs.begin(), theirs.end(), base.begin(), base.end(), std::back_inserter(only_theirs));
    std::string diff;
    for (auto& k : only_base)
      diff += " '" + registry_display_name(k) + "' is registered on rank 0 but not on rank " + std::to_string(r) + ";";
    for (auto& k : only_theirs)
      diff += " '" + registry_display_name(k) + "' is registered on rank " + std::to_string(r) + " but not on rank 0;";
    throw Error("raympi::init: the function registries of the ranks differ:" + diff +
                " every rank must run the same executable with the same RAYMPI_REMOTE registrations");
  }
}

}  // namespace raympi::detail

namespace raympi::detail {

std::string TaskSpec::display_name() const { return name.empty() ? (fn ? fn->name : std::string("?")) : name; }
std::uint64_t TaskSpec::function_id(const FunctionInfo* f) { return f ? f->id : 0; }
const FunctionInfo* TaskSpec::function_by_id(std::uint64_t id) { return find_function(id); }

#ifdef RAYMPI_COUNT_ID_HASHES
std::atomic<std::uint64_t>& id_hash_count() {
  static std::atomic<std::uint64_t> n{0};
  return n;
}
#endif

}  // namespace raympi::detail
