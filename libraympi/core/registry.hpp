#pragma once
// Registry internals used at init: the sorted keys every rank compares.

#include <string>
#include <vector>

namespace raympi::detail {

/// Sorted registry keys (name|type) of this process.
std::vector<std::string> registry_keys();
/// Problems found while registering (duplicate names, id collisions).
std::vector<std::string> registry_errors();
/// Display names by key, for messages.
std::string registry_display_name(const std::string& key);
/// The keys as one string (one per line), as init's allgather exchanges them.
std::string encode_registry_keys(const std::vector<std::string>& keys);
/// Init's agreement check over every rank's encode_registry_keys (by rank):
/// throws an Error naming the functions registered on some ranks only.
void check_registry_agreement(const std::vector<std::string>& gathered);

}  // namespace raympi::detail
